"""Per-prompt MMD² averaged over prompts, calibrated by within-prompt permutation.

:func:`parity.stats.mmd.mmd_permutation_test` with prompt ids uses one global
unbiased MMD² under the product kernel ``1[same prompt] · k``. With few
samples per prompt its within-sample terms are averaged over all pairs,
cross-prompt zeros included, so they weigh about ``(k-1)/k`` of the cross
term: the statistic then sees a candidate that is *far* from the reference
but hardly one that is *too concentrated* (a lower temperature). Here every
prompt gets its own unbiased MMD² (Gretton et al. 2012, eq. 3), and the test
statistic is their mean over the prompts with at least two samples on each side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from parity.stats.mmd import MMDResult, hamming_kernel_matrix, mmd2_for_labels

__all__ = ["stratified_mmd_test"]

Token = int | str


def _labels(size: int, m: int, n_perm: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Row 0 is the observed split (first ``m`` are X); the others are random relabellings."""
    z = np.zeros((n_perm + 1, size), dtype=np.float64)
    z[0, :m] = 1.0
    order = np.argsort(rng.random((n_perm, size)), axis=1)[:, :m]
    np.put_along_axis(z[1:], order, 1.0, axis=1)
    return z


def stratified_mmd_test(
    x: Sequence[Sequence[Token]],
    y: Sequence[Sequence[Token]],
    *,
    prompt_ids_x: Sequence[Hashable],
    prompt_ids_y: Sequence[Hashable],
    length: int,
    n_permutations: int = 1000,
    seed: int = 0,
) -> MMDResult:
    """Test "for every prompt, x and y come from one distribution" by the mean per-prompt MMD².

    Hamming kernel over the first ``length`` tokens (see
    :func:`parity.stats.mmd.hamming_kernel_matrix`). Prompts with fewer than two
    samples on either side are left out; with none left the p-value is 1.
    Calibration: labels are permuted within each prompt, ``n_permutations``
    times, and ``p = (1 + #{perm >= observed}) / (1 + n_permutations)`` -- exact
    for any sample sizes when, under H0, the completions of a prompt are
    independent draws from one distribution (exchangeable labels).
    ``n_x``/``n_y`` in the result count the samples of the prompts used.
    """
    if len(x) != len(prompt_ids_x) or len(y) != len(prompt_ids_y):
        raise ValueError("prompt ids must match the samples in length")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    groups: dict[Hashable, tuple[list[Sequence[Token]], list[Sequence[Token]]]] = defaultdict(
        lambda: ([], []))
    for s, p in zip(x, prompt_ids_x, strict=True):
        groups[p][0].append(s)
    for s, p in zip(y, prompt_ids_y, strict=True):
        groups[p][1].append(s)
    used = [(xs, ys) for xs, ys in groups.values() if len(xs) >= 2 and len(ys) >= 2]
    if not used:
        return MMDResult(statistic=float("nan"), p_value=1.0, n_x=0, n_y=0,
                         n_permutations=n_permutations)
    rng = np.random.default_rng(seed)
    total = np.zeros(n_permutations + 1, dtype=np.float64)
    for xs, ys in used:
        K = hamming_kernel_matrix([*xs, *ys], length)
        total += mmd2_for_labels(K, _labels(len(xs) + len(ys), len(xs), n_permutations, rng), len(xs))
    total /= len(used)
    observed = float(total[0])
    tol = 1e-12 * max(1.0, abs(observed))
    exceed = int(np.count_nonzero(total[1:] >= observed - tol))
    return MMDResult(statistic=observed, p_value=(1 + exceed) / (1 + n_permutations),
                     n_x=sum(len(a) for a, _ in used), n_y=sum(len(b) for _, b in used),
                     n_permutations=n_permutations)

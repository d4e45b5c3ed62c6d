"""Kernel two-sample test on sampled completions (Model Equality Testing).

Implements the black-box test of Gao, Liang & Guestrin, "Model Equality
Testing: Which model is this API serving?" (ICLR 2025): draw completions from
the reference and from the candidate, compare the two samples with the
unbiased MMD² under a Hamming kernel on token sequences, and calibrate by
permutation.

With prompts, the paper tests equality of the joint distribution of
(prompt, completion) under the product kernel
``k((p, x), (p', x')) = 1[p = p'] · hamming(x, x')``. Here the permutations are
*stratified by prompt*: labels are shuffled only among completions of the same
prompt. That null — for every prompt, the two completion distributions are
equal — is exactly what the verifier asks, and the test stays exact when the
two samples spread differently over prompts (a fixed design with unequal
repeats), where pooled permutation would also flag the prompt mix.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MMDResult", "hamming_kernel_matrix", "mmd2_unbiased", "mmd_permutation_test"]

Token = int | str
_PAD = -1  # sentinel code for positions past the end of a sequence
_PERM_BLOCK_BYTES = 1 << 24  # bound on the label matrix built per batch of permutations


@dataclass(frozen=True, slots=True)
class MMDResult:
    """Outcome of :func:`mmd_permutation_test`."""

    statistic: float
    """Unbiased MMD² of the observed split (can be slightly negative)."""
    p_value: float
    """``(1 + #{permuted statistic >= observed}) / (1 + n_permutations)``."""
    n_x: int
    n_y: int
    n_permutations: int


def _encode(seqs: Sequence[Sequence[Token]], length: int) -> NDArray[np.int32]:
    """Map tokens to small non-negative ints; pad or truncate to ``length``."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    vocab: dict[Token, int] = {}
    codes = np.full((len(seqs), length), _PAD, dtype=np.int32)
    for i, seq in enumerate(seqs):
        row = [vocab.setdefault(tok, len(vocab)) for tok in list(seq)[:length]]
        codes[i, : len(row)] = row
    return codes


def _match_counts(a: NDArray[np.int32], b: NDArray[np.int32]) -> NDArray[np.int32]:
    """``C[i, j]`` = number of positions where rows ``a[i]`` and ``b[j]`` agree."""
    counts = np.zeros((a.shape[0], b.shape[0]), dtype=np.int32)
    buf = np.empty(counts.shape, dtype=np.bool_)
    for pos in range(a.shape[1]):
        np.equal(a[:, pos, None], b[None, :, pos], out=buf)
        counts += buf
    return counts


def hamming_kernel_matrix(seqs: Sequence[Sequence[Token]], length: int) -> NDArray[np.float64]:
    """Gram matrix of the Hamming kernel on token sequences.

    ``K[i, j]`` is the fraction of the first ``length`` positions at which
    sequences ``i`` and ``j`` carry the same token. Shorter sequences are padded
    with a sentinel that matches only itself, so two identical short sequences
    have similarity 1 and a sequence that stops early differs from one that
    goes on. The kernel is positive semi-definite (a sum of per-position
    indicator kernels), takes values in [0, 1], and has ``K[i, i] = 1``.
    Cost: ``O(N² · length)`` vectorised comparisons.
    """
    codes = _encode(seqs, length)
    return _match_counts(codes, codes) / np.float64(length)


def mmd2_unbiased(K: NDArray[np.float64], m: int) -> float:
    """Unbiased estimate of MMD² from a pooled Gram matrix.

    Rows ``0..m-1`` are sample X and the remaining ``n`` rows sample Y:
    ``mean_{i≠j} k(x_i, x_j) + mean_{i≠j} k(y_i, y_j) - 2 mean k(x_i, y_j)``
    (Gretton et al. 2012, eq. 3). Needs at least two points per sample.
    """
    n_total = K.shape[0]
    n = n_total - m
    if K.ndim != 2 or K.shape[1] != n_total:
        raise ValueError(f"K must be square, got shape {K.shape}")
    if m < 2 or n < 2:
        raise ValueError(f"need at least 2 points per sample, got m={m}, n={n}")
    kxx = K[:m, :m]
    kyy = K[m:, m:]
    kxy = K[:m, m:]
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def mmd2_for_labels(K: NDArray[np.float64], z: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """Unbiased MMD² for each row of ``z`` (1 = X, 0 = Y), all with ``m`` ones.

    Expands the block sums as quadratic forms so a batch of relabellings costs
    one matrix product: ``Sxx = zᵀKz``, ``Sxy = zᵀK1 - zᵀKz``,
    ``Syy = 1ᵀK1 - 2 zᵀK1 + zᵀKz``; diagonals are removed afterwards.
    """
    n_total = K.shape[0]
    n = n_total - m
    diag = np.diag(K)
    row_sums = K.sum(axis=1)
    total, trace = float(row_sums.sum()), float(diag.sum())
    zkz = np.einsum("pi,pi->p", z @ K, z)
    zk1 = z @ row_sums
    zd = z @ diag
    sxx = (zkz - zd) / (m * (m - 1))
    syy = (total - 2.0 * zk1 + zkz - (trace - zd)) / (n * (n - 1))
    sxy = (zk1 - zkz) / (m * n)
    out: NDArray[np.float64] = sxx + syy - 2.0 * sxy
    return out


def _stratified_labels(
    strata: NDArray[np.int64], is_x: NDArray[np.bool_], n_perm: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``n_perm`` random relabellings that keep the count of X in every stratum."""
    order0 = np.argsort(strata, kind="stable")
    sorted_strata = strata[order0]
    starts = np.searchsorted(sorted_strata, sorted_strata, side="left")
    rank_in_stratum = np.arange(strata.size) - starts
    x_per_stratum = np.bincount(strata, weights=is_x.astype(np.float64)).astype(np.int64)
    x_mask_sorted = rank_in_stratum < x_per_stratum[sorted_strata]
    # Sorting by (stratum + uniform) shuffles within strata and keeps them apart.
    keys = strata[None, :] + rng.random((n_perm, strata.size))
    order = np.argsort(keys, axis=1)
    z = np.zeros((n_perm, strata.size), dtype=np.float64)
    np.put_along_axis(z, order, np.broadcast_to(x_mask_sorted, order.shape).astype(np.float64), 1)
    return z


def _prompt_strata(
    prompt_ids_x: Sequence[Hashable] | None,
    prompt_ids_y: Sequence[Hashable] | None,
    n_x: int,
    n_y: int,
) -> NDArray[np.int64] | None:
    if prompt_ids_x is None and prompt_ids_y is None:
        return None
    if prompt_ids_x is None or prompt_ids_y is None:
        raise ValueError("give prompt ids for both samples or for neither")
    if len(prompt_ids_x) != n_x or len(prompt_ids_y) != n_y:
        raise ValueError("prompt ids must match the samples in length")
    index: dict[Hashable, int] = {}
    ids = [index.setdefault(p, len(index)) for p in [*prompt_ids_x, *prompt_ids_y]]
    return np.asarray(ids, dtype=np.int64)


def _prompt_kernel(
    codes: NDArray[np.int32], strata: NDArray[np.int64], length: int
) -> NDArray[np.float64]:
    """Hamming kernel times 1[same prompt], computed one prompt block at a time."""
    K = np.zeros((codes.shape[0], codes.shape[0]), dtype=np.float64)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        K[np.ix_(idx, idx)] = _match_counts(codes[idx], codes[idx]) / np.float64(length)
    return K


def mmd_permutation_test(
    x: Sequence[Sequence[Token]],
    y: Sequence[Sequence[Token]],
    *,
    length: int,
    n_permutations: int = 1000,
    seed: int = 0,
    prompt_ids_x: Sequence[Hashable] | None = None,
    prompt_ids_y: Sequence[Hashable] | None = None,
) -> MMDResult:
    """Permutation test of "x and y come from the same distribution" by MMD².

    Statistic: :func:`mmd2_unbiased` under the Hamming kernel truncated at
    ``length`` tokens (times 1[same prompt] when prompt ids are given).
    Calibration: the statistic is recomputed under ``n_permutations`` random
    relabellings of the pooled sample (within prompts when prompt ids are
    given) and ``p = (1 + #{perm >= observed}) / (1 + n_permutations)``, which
    is a valid p-value for any sample size when, under H0, the labels are
    exchangeable — i.e. all completions are independent draws and, for each
    prompt, reference and candidate completions share one distribution.
    The Gram matrix is computed once; permutations are batched matrix products.
    """
    n_x, n_y = len(x), len(y)
    if n_x < 2 or n_y < 2:
        raise ValueError(f"need at least 2 sequences per sample, got {n_x} and {n_y}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    codes = _encode([*x, *y], length)
    n_total = n_x + n_y
    strata = _prompt_strata(prompt_ids_x, prompt_ids_y, n_x, n_y)
    if strata is None:
        K = _match_counts(codes, codes) / np.float64(length)
        strata = np.zeros(n_total, dtype=np.int64)
    else:
        K = _prompt_kernel(codes, strata, length)
    observed = mmd2_unbiased(K, n_x)
    is_x = np.arange(n_total) < n_x
    rng = np.random.default_rng(seed)
    batch = max(1, _PERM_BLOCK_BYTES // (8 * n_total))
    exceed = 0
    # Permuted statistics equal to the observed one up to rounding count as "as extreme".
    tol = 1e-12 * max(1.0, abs(observed))
    for start in range(0, n_permutations, batch):
        size = min(batch, n_permutations - start)
        z = _stratified_labels(strata, is_x, size, rng)
        exceed += int(np.count_nonzero(mmd2_for_labels(K, z, n_x) >= observed - tol))
    return MMDResult(
        statistic=observed,
        p_value=(1 + exceed) / (1 + n_permutations),
        n_x=n_x,
        n_y=n_y,
        n_permutations=n_permutations,
    )

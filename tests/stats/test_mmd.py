"""MMD permutation test: kernel values, estimator, calibration and power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from parity.stats.mmd import hamming_kernel_matrix, mmd2_unbiased, mmd_permutation_test

ALPHA = 0.05
LENGTH = 8


def rate_margin(alpha: float, n: int, confidence: float = 0.999) -> float:
    """How far an observed rejection rate may exceed ``alpha`` by chance over ``n`` runs."""
    return float(sps.norm.ppf(confidence)) * math.sqrt(alpha * (1 - alpha) / n)


def sample(rng: np.random.Generator, n: int, zero: float = 0.0) -> list[list[int]]:
    """Token sequences of length LENGTH-2..LENGTH over 4 symbols; ``zero`` skews to token 0."""
    tokens = rng.integers(0, 4, (n, LENGTH))
    if zero:
        tokens = np.where(rng.random((n, LENGTH)) < zero, 0, tokens)
    lengths = rng.integers(LENGTH - 2, LENGTH + 1, n)
    return [[int(t) for t in tokens[i, : lengths[i]]] for i in range(n)]


def brute_hamming(a: list[str], b: list[str], length: int) -> float:
    pad = "<pad>"  # not a token used below
    a_ = (a[:length] + [pad] * length)[:length]
    b_ = (b[:length] + [pad] * length)[:length]
    return sum(u == v for u, v in zip(a_, b_, strict=True)) / length


def test_hamming_matrix_matches_definition() -> None:
    seqs: list[list[str]] = [["a", "b", "c"], ["a", "b"], ["a", "x", "c", "d"], [], ["a", "b", "c"]]
    K = hamming_kernel_matrix(seqs, 3)
    expected = [[brute_hamming(a, b, 3) for b in seqs] for a in seqs]
    np.testing.assert_allclose(K, expected)
    assert K[0, 4] == 1.0  # identical
    assert K[1, 3] == pytest.approx(1 / 3)  # both padded at the last position only
    np.testing.assert_array_equal(np.diag(K), 1.0)
    np.testing.assert_array_equal(K, K.T)


def test_hamming_matrix_truncates_and_handles_int_tokens() -> None:
    K = hamming_kernel_matrix([[1, 2, 3, 9], [1, 2, 3, 7]], 3)
    assert K[0, 1] == 1.0
    with pytest.raises(ValueError):
        hamming_kernel_matrix([[1]], 0)


def test_mmd2_unbiased_matches_direct_sums() -> None:
    rng = np.random.default_rng(0)
    K = hamming_kernel_matrix(sample(rng, 11), LENGTH)
    m, n = 5, 6
    x, y = range(m), range(m, m + n)
    sxx = sum(K[i, j] for i in x for j in x if i != j) / (m * (m - 1))
    syy = sum(K[i, j] for i in y for j in y if i != j) / (n * (n - 1))
    sxy = sum(K[i, j] for i in x for j in y) / (m * n)
    assert mmd2_unbiased(K, m) == pytest.approx(sxx + syy - 2 * sxy)
    with pytest.raises(ValueError):
        mmd2_unbiased(K, 1)


def test_permutation_p_value_shape_and_determinism() -> None:
    rng = np.random.default_rng(1)
    x, y = sample(rng, 15), sample(rng, 12)
    a = mmd_permutation_test(x, y, length=LENGTH, n_permutations=199, seed=5)
    b = mmd_permutation_test(x, y, length=LENGTH, n_permutations=199, seed=5)
    assert a == b
    assert (a.n_x, a.n_y, a.n_permutations) == (15, 12, 199)
    exceed = a.p_value * (1 + 199) - 1
    assert exceed == pytest.approx(round(exceed))
    assert 1 / 200 <= a.p_value <= 1.0
    K = hamming_kernel_matrix([*x, *y], LENGTH)
    assert a.statistic == pytest.approx(mmd2_unbiased(K, 15))


def test_identical_samples_are_never_significant() -> None:
    seqs = sample(np.random.default_rng(2), 10)
    result = mmd_permutation_test(seqs, seqs, length=LENGTH, n_permutations=99)
    assert result.p_value > 0.5


def test_calibrated_under_h0() -> None:
    runs, rejections = 200, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        res = mmd_permutation_test(
            sample(rng, 20), sample(rng, 20), length=LENGTH, n_permutations=99, seed=seed
        )
        rejections += res.p_value <= ALPHA
    assert rejections / runs <= ALPHA + rate_margin(ALPHA, runs)


def test_power_under_a_clear_alternative() -> None:
    runs, rejections = 40, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        res = mmd_permutation_test(
            sample(rng, 20), sample(rng, 20, zero=0.5), length=LENGTH, n_permutations=99, seed=seed
        )
        rejections += res.p_value <= ALPHA
    assert rejections >= 0.9 * runs


def prompted_sample(
    rng: np.random.Generator, prompts: list[int], zero_for: dict[int, float]
) -> list[list[int]]:
    return [sample(rng, 1, zero=zero_for.get(p, 0.0))[0] for p in prompts]


def test_prompt_strata_keep_calibration_under_unequal_prompt_mix() -> None:
    # Prompt 0 and prompt 1 have very different completions, and x draws mostly
    # prompt 0 while y draws mostly prompt 1. Per prompt the two sides agree, so
    # H0 holds; permuting within prompts must not flag the prompt mix.
    runs, rejections = 100, 0
    style = {1: 0.9}
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        px = [0] * 16 + [1] * 4
        py = [0] * 4 + [1] * 16
        res = mmd_permutation_test(
            prompted_sample(rng, px, style),
            prompted_sample(rng, py, style),
            length=LENGTH,
            n_permutations=99,
            seed=seed,
            prompt_ids_x=px,
            prompt_ids_y=py,
        )
        rejections += res.p_value <= ALPHA
    assert rejections / runs <= ALPHA + rate_margin(ALPHA, runs)


def test_prompt_aware_power_when_one_prompt_differs() -> None:
    runs, rejections = 20, 0
    prompts = [p for p in range(3) for _ in range(10)]
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        res = mmd_permutation_test(
            prompted_sample(rng, prompts, {}),
            prompted_sample(rng, prompts, {2: 0.8}),
            length=LENGTH,
            n_permutations=99,
            seed=seed,
            prompt_ids_x=[f"p{p}" for p in prompts],
            prompt_ids_y=[f"p{p}" for p in prompts],
        )
        rejections += res.p_value <= ALPHA
    assert rejections >= 0.9 * runs


def test_rejects_bad_arguments() -> None:
    seqs = sample(np.random.default_rng(3), 4)
    with pytest.raises(ValueError):
        mmd_permutation_test(seqs[:1], seqs, length=LENGTH)
    with pytest.raises(ValueError):
        mmd_permutation_test(seqs, seqs, length=LENGTH, n_permutations=0)
    with pytest.raises(ValueError):
        mmd_permutation_test(seqs, seqs, length=LENGTH, prompt_ids_x=[0, 0, 0, 0])
    with pytest.raises(ValueError):
        mmd_permutation_test(seqs, seqs, length=LENGTH, prompt_ids_x=[0], prompt_ids_y=[0])

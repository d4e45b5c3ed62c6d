"""Top-k total-variation bound and the logprob-difference betting helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats as sps

from parity.stats.divergence import logprob_difference_test, topk_tv_lower_bound
from parity.stats.sequential import BettingTest

ALPHA = 0.05


def top_k(dist: NDArray[np.float64], k: int) -> dict[str, float]:
    order = np.argsort(-dist)[:k]
    return {f"t{i}": math.log(dist[i]) for i in order if dist[i] > 0}


def test_identical_and_disjoint() -> None:
    p = {"a": math.log(0.6), "b": math.log(0.3)}
    assert topk_tv_lower_bound(p, p) == 0.0
    full_a, full_b = {"a": 0.0}, {"b": 0.0}
    assert topk_tv_lower_bound(full_a, full_b) == pytest.approx(1.0)


def test_exact_when_both_lists_cover_the_support() -> None:
    p = {"a": math.log(0.5), "b": math.log(0.3), "c": math.log(0.2)}
    q = {"a": math.log(0.2), "b": math.log(0.3), "c": math.log(0.5)}
    assert topk_tv_lower_bound(p, q) == pytest.approx(0.3)


def test_uses_tokens_listed_on_one_side_only() -> None:
    # Q's top-2 are x, y at 0.25 each, so the unlisted "a" has Q(a) <= 0.25.
    p = {"a": math.log(0.9), "x": math.log(0.05)}
    q = {"x": math.log(0.25), "y": math.log(0.25)}
    assert topk_tv_lower_bound(p, q) == pytest.approx(0.9 - 0.25)
    # Without the ranking assumption only Q's unlisted mass (0.5) caps Q(a).
    assert topk_tv_lower_bound(p, q, ranked=False) == pytest.approx(0.4)


def test_never_exceeds_the_true_total_variation() -> None:
    rng = np.random.default_rng(0)
    for _ in range(1500):
        vocab = int(rng.integers(2, 25))
        k = int(rng.integers(1, vocab + 1))
        concentration = float(rng.choice([0.05, 0.5, 2.0]))
        p = rng.dirichlet(np.full(vocab, concentration))
        if rng.random() < 0.5:
            q = rng.dirichlet(np.full(vocab, concentration))
        else:  # a perturbation of p, as quantisation would give
            q = p * np.exp(rng.normal(0.0, 0.5, vocab))
            q /= q.sum()
        tv = 0.5 * float(np.abs(p - q).sum())
        for ranked in (True, False):
            assert topk_tv_lower_bound(top_k(p, k), top_k(q, k), ranked=ranked) <= tv + 1e-9


def test_rounding_above_one_and_bad_logprobs() -> None:
    p = {"a": math.log(0.7000001), "b": math.log(0.3000001)}
    q = {"a": math.log(0.5), "b": math.log(0.5)}
    assert topk_tv_lower_bound(p, q) == pytest.approx(0.2, abs=1e-6)
    with pytest.raises(ValueError):
        topk_tv_lower_bound({"a": 0.5}, q)


def test_logprob_differences_calibrated_under_symmetric_noise() -> None:
    runs, steps = 200, 300
    margin = float(sps.norm.ppf(0.999)) * math.sqrt(ALPHA * (1 - ALPHA) / runs)
    crossed = 0
    for seed in range(runs):
        noise = np.random.default_rng(seed).laplace(0.0, 0.3, steps)
        crossed += logprob_difference_test(noise.tolist(), scale=0.5).rejects(ALPHA)
    assert crossed / runs <= ALPHA + margin


def test_logprob_differences_detect_a_shift_and_continue_a_test() -> None:
    rng = np.random.default_rng(1)
    test = BettingTest()
    for _ in range(10):  # ten responses of 40 positions each
        shifted = rng.laplace(-0.15, 0.3, 40)
        same = logprob_difference_test(shifted.tolist(), scale=0.5, test=test)
        assert same is test
    assert test.n == 400
    assert test.rejects(ALPHA)
    with pytest.raises(ValueError):
        logprob_difference_test([0.1], scale=0.0)

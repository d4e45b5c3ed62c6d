"""Exchangeability e-processes: exact null mean, Ville calibration, power, input checks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from parity.stats.exchangeable import (
    ExchangeableRankTest,
    exchangeable_g,
    odd_one_out_e,
    odd_one_out_g,
    outlyingness,
)
from parity.stats.sequential import hamming_similarity

ALPHA = 0.05


def test_odd_one_out_values() -> None:
    assert odd_one_out_g(["a", "a"], "b") == 1.0
    assert odd_one_out_g(["a", "b"], "a") == pytest.approx(-0.5)
    assert odd_one_out_g(["a", "a"], "a") == 0.0
    assert odd_one_out_g(["a", "b"], "c") == 0.0
    assert odd_one_out_e(["x", "x"], "y", bet=0.5) == 1.5
    assert odd_one_out_e(["x", "y"], "x", bet=0.5) == pytest.approx(0.75)


@pytest.mark.parametrize("pool", [("a", "a", "b"), ("a", "b", "c", "a"), ("a", "a", "b", "b", "c"),
                                  ("x", "x", "x", "y")])
def test_null_mean_is_exactly_zero_over_slots(pool: tuple[str, ...]) -> None:
    # Exchangeability: the candidate is equally likely to be any slot of the multiset.
    gs = [odd_one_out_g(list(p[:-1]), p[-1]) for p in itertools.permutations(pool)]
    assert sum(gs) / len(gs) == pytest.approx(0.0, abs=1e-12)
    assert all(-1.0 <= g <= 1.0 for g in gs)


def test_kernel_scores_null_mean_zero() -> None:
    pool = ["abcd", "abce", "abxx", "zzzz"]
    sim = lambda a, b: hamming_similarity(a, b, 4)  # noqa: E731
    gs = []
    for p in itertools.permutations(pool):
        gs.append(exchangeable_g(outlyingness(list(p), sim), len(p) - 1))
    assert sum(gs) / len(gs) == pytest.approx(0.0, abs=1e-12)
    assert max(gs) == 1.0  # the farthest answer in the candidate's slot


def test_outlyingness_matches_multiplicity_for_exact_match() -> None:
    pool = ["a", "a", "b", "c", "a"]
    s = outlyingness(pool, lambda x, y: float(x == y))
    assert s == [-2.0, -2.0, 0.0, 0.0, -2.0]


def test_calibration_under_noisy_null() -> None:
    # A noisy server: 3 possible greedy answers; candidate drawn from the same distribution.
    rng = np.random.default_rng(1)
    runs, rounds, rejected = 2000, 100, 0
    for _ in range(runs):
        t = ExchangeableRankTest()
        draws = rng.choice(3, size=(rounds, 3), p=[0.7, 0.2, 0.1])
        for r in draws:
            t.update(odd_one_out_g([int(r[0]), int(r[1])], int(r[2])))
            if t.rejects(ALPHA):
                rejected += 1
                break
    margin = 3.1 * math.sqrt(ALPHA * (1 - ALPHA) / runs)
    assert rejected / runs <= ALPHA + margin


def test_detects_a_candidate_that_is_often_odd() -> None:
    rng = np.random.default_rng(2)
    hits = []
    for _ in range(200):
        t = ExchangeableRankTest()
        for n in range(1, 101):
            diverges = rng.random() < 0.3  # the candidate's greedy text differs on 30% of prompts
            t.update(odd_one_out_g(["r", "r"], "c" if diverges else "r"))
            if t.rejects(ALPHA):
                hits.append(n)
                break
    assert len(hits) >= 195
    assert float(np.median(hits)) <= 30


def test_deterministic_equal_answers_never_move_the_wealth() -> None:
    t = ExchangeableRankTest()
    for _ in range(50):
        t.update(odd_one_out_g(["same", "same"], "same"))
    assert t.e_value == 1.0 and t.decisive == 0 and not t.rejects(ALPHA)


def test_wealth_bookkeeping() -> None:
    t = ExchangeableRankTest(bets=(0.5,))
    t.update(1.0)
    t.update(-0.5)
    assert t.e_value == pytest.approx(1.5 * 0.75)
    assert t.max_e_value == pytest.approx(1.5)
    assert (t.n, t.decisive, t.candidate_odd) == (2, 2, 1)


@pytest.mark.parametrize("bad", [math.nan, 1.5, -2.0])
def test_rejects_bad_observations(bad: float) -> None:
    with pytest.raises(ValueError):
        ExchangeableRankTest().update(bad)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ExchangeableRankTest(bets=(1.0,))
    with pytest.raises(ValueError):
        ExchangeableRankTest(bets=())
    with pytest.raises(ValueError):
        odd_one_out_g(["a"], "b")
    with pytest.raises(ValueError):
        odd_one_out_e(["a", "a"], "b", bet=1.0)
    with pytest.raises(ValueError):
        exchangeable_g([1.0], 0)
    with pytest.raises(ValueError):
        exchangeable_g([1.0, math.nan], 0)
    with pytest.raises(ValueError):
        ExchangeableRankTest().rejects(0.0)

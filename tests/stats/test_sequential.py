"""Testing by betting: wealth bookkeeping, Ville calibration, power."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats as sps

from parity.stats.mmd import hamming_kernel_matrix
from parity.stats.sequential import (
    BettingTest,
    PairedKernelBettingTest,
    e_to_p,
    hamming_kernel,
    hamming_similarity,
)

ALPHA = 0.05
LENGTH = 8

Stream = Callable[[np.random.Generator, int], NDArray[np.float64]]


def rate_margin(alpha: float, n: int, confidence: float = 0.999) -> float:
    """How far an observed rejection rate may exceed ``alpha`` by chance over ``n`` runs."""
    return float(sps.norm.ppf(confidence)) * math.sqrt(alpha * (1 - alpha) / n)


def first_rejection(gs: NDArray[np.float64], alpha: float = ALPHA) -> int | None:
    test = BettingTest()
    for g in gs:
        test.update(float(g))
        if test.rejects(alpha):
            return test.n
    return None


def rademacher(rng: np.random.Generator, n: int, p_plus: float = 0.5) -> NDArray[np.float64]:
    return np.where(rng.random(n) < p_plus, 1.0, -1.0)


def test_wealth_is_the_product_of_bets() -> None:
    test = BettingTest()
    assert (test.n, test.e_value, test.bet) == (0, 1.0, 0.0)
    wealth = 1.0
    for g in [0.5, -0.2, 1.0, 0.3, -1.0]:
        wealth *= 1.0 + test.bet * g
        test.update(g)
    assert test.e_value == pytest.approx(wealth)
    assert test.log_e_value == pytest.approx(math.log(wealth))
    assert test.n == 5
    assert -0.5 <= test.bet <= 0.5


def test_bets_follow_the_sign_of_the_mean() -> None:
    up, down = BettingTest(), BettingTest()
    up.extend([0.8] * 20)
    down.extend([-0.8] * 20)
    assert up.bet > 0 > down.bet
    assert up.e_value > 1 and down.e_value > 1  # two-sided


def test_rejection_is_sticky() -> None:
    test = BettingTest()
    while not test.rejects(ALPHA):
        test.update(1.0)
    assert test.bet == 0.5 and test.e_value < 2 / ALPHA  # just crossed, betting the cap
    test.update(-1.0)  # halves the wealth: back below 1/α
    assert test.e_value < 1 / ALPHA <= test.max_e_value
    assert test.rejects(ALPHA)


def test_invalid_inputs() -> None:
    test = BettingTest()
    for bad in (1.5, -2.0, math.nan):
        with pytest.raises(ValueError):
            test.update(bad)
    with pytest.raises(ValueError):
        BettingTest(max_bet=0.9)
    with pytest.raises(ValueError):
        test.rejects(0.0)


def test_e_to_p() -> None:
    assert e_to_p(0.0) == 1.0
    assert e_to_p(0.5) == 1.0
    assert e_to_p(40.0) == pytest.approx(0.025)
    with pytest.raises(ValueError):
        e_to_p(-1.0)


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(lambda rng, n: rademacher(rng, n), id="symmetric"),
        # Skewed but mean zero: +1 w.p. 1/3, -1/2 w.p. 2/3.
        pytest.param(lambda rng, n: np.where(rng.random(n) < 1 / 3, 1.0, -0.5), id="skewed"),
    ],
)
def test_ville_calibration_under_h0(stream: Stream) -> None:
    runs, steps = 200, 500
    crossed = sum(
        first_rejection(stream(np.random.default_rng(seed), steps)) is not None
        for seed in range(runs)
    )
    assert crossed / runs <= ALPHA + rate_margin(ALPHA, runs)


@pytest.mark.parametrize("p_plus", [0.65, 0.35], ids=["shift-up", "shift-down"])
def test_rejects_a_mean_shift_within_bounded_steps(p_plus: float) -> None:
    # Mean ±0.3: the log-optimal growth is ~0.046 per step, so 1/α = 20 needs ~65
    # steps for an oracle; ONS pays a logarithmic regret on top.
    steps = 1000
    for seed in range(30):
        assert first_rejection(rademacher(np.random.default_rng(seed), steps, p_plus)) is not None


def sample(rng: np.random.Generator, n: int, zero: float = 0.0) -> list[list[int]]:
    tokens = rng.integers(0, 4, (n, LENGTH))
    if zero:
        tokens = np.where(rng.random((n, LENGTH)) < zero, 0, tokens)
    lengths = rng.integers(LENGTH - 2, LENGTH + 1, n)
    return [[int(t) for t in tokens[i, : lengths[i]]] for i in range(n)]


def test_hamming_similarity_agrees_with_the_matrix() -> None:
    seqs = [*sample(np.random.default_rng(0), 12), [], [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]]
    K = hamming_kernel_matrix(seqs, LENGTH)
    kernel = hamming_kernel(LENGTH)
    for i, a in enumerate(seqs):
        for j, b in enumerate(seqs):
            assert kernel(a, b) == pytest.approx(K[i, j])
            assert hamming_similarity(a, b, LENGTH) == pytest.approx(K[i, j])


def test_witness_is_antisymmetric_and_per_prompt() -> None:
    rng = np.random.default_rng(1)
    test: PairedKernelBettingTest[list[int]] = PairedKernelBettingTest(hamming_kernel(LENGTH))
    xs, ys = sample(rng, 6), sample(rng, 6, zero=0.5)
    for x, y in zip(xs[:5], ys[:5], strict=True):
        test.update(x, y, prompt="a")
    x, y = xs[5], ys[5]
    assert test.witness(x, y, "a") == pytest.approx(-test.witness(y, x, "a"))
    assert -1.0 <= test.witness(x, y, "a") <= 1.0
    assert test.witness(x, y, "never seen") == 0.0
    assert test.n == 5


def run_paired(seed: int, steps: int, zero: float, window: int | None) -> int | None:
    rng = np.random.default_rng(seed)
    test: PairedKernelBettingTest[list[int]] = PairedKernelBettingTest(
        hamming_kernel(LENGTH), window=window
    )
    for x, y in zip(sample(rng, steps), sample(rng, steps, zero=zero), strict=True):
        test.update(x, y)
        if test.rejects(ALPHA):
            return test.n
    return None


def test_paired_kernel_calibrated_under_h0() -> None:
    runs = 100
    crossed = sum(run_paired(seed, 60, 0.0, window=15) is not None for seed in range(runs))
    assert crossed / runs <= ALPHA + rate_margin(ALPHA, runs)


def test_paired_kernel_rejects_a_clear_difference_within_bounded_steps() -> None:
    for seed in range(15):
        assert run_paired(seed, 300, 0.5, window=40) is not None

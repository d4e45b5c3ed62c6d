"""The empirical-Bernstein confidence sequence: anytime coverage, e-value consistency."""

from __future__ import annotations

import numpy as np
import pytest

from parity.stats import BettingCS, BoundedMeanCS


def test_bounds_shrink_and_hold_the_mean() -> None:
    rng = np.random.default_rng(0)
    cs = BoundedMeanCS(0.05, -1, 1)
    widths = []
    for x in np.clip(rng.normal(0.1, 0.2, 400), -1, 1):
        cs.update(float(x))
        widths.append(cs.upper - cs.lower)
    assert cs.lower <= 0.1 <= cs.upper
    assert widths[-1] < widths[50] < widths[5] and widths[-1] < 0.1


def test_anytime_coverage_over_many_sequences() -> None:
    # Miscoverage of one side at any time must be at most alpha (here far less, by Ville).
    rng = np.random.default_rng(1)
    missed_low = missed_high = 0
    for _ in range(200):
        cs = BoundedMeanCS(0.1, 0, 1)
        ever_low = ever_high = False
        for x in rng.random(200) < 0.3:
            cs.update(float(x))
            ever_low |= cs.lower > 0.3
            ever_high |= cs.upper < 0.3
        missed_low += ever_low
        missed_high += ever_high
    assert missed_low <= 30 and missed_high <= 30  # alpha 0.1: 20 expected at most


def test_e_value_crosses_exactly_when_the_upper_bound_drops_below_the_null() -> None:
    rng = np.random.default_rng(2)
    cs = BoundedMeanCS(0.05, -1, 1, null=0.0)
    for x in np.clip(rng.normal(-0.15, 0.3, 300), -1, 1):
        cs.update(float(x))
        assert cs.rejects_null() == (cs.upper < 0.0) or abs(cs.upper) < 1e-9
    assert cs.rejects_null() and cs.max_e_value >= 20


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        BoundedMeanCS(0.0)
    with pytest.raises(ValueError):
        BoundedMeanCS(0.05, 1, 1)
    with pytest.raises(ValueError):
        BoundedMeanCS(0.05).update(1.5)
    with pytest.raises(ValueError):
        BoundedMeanCS(0.05).update(float("nan"))


def test_betting_bounds_hold_the_mean_and_beat_empirical_bernstein_width() -> None:
    rng = np.random.default_rng(3)
    bet, eb = BettingCS(0.05, -1, 1), BoundedMeanCS(0.05, -1, 1)
    for x in np.clip(rng.normal(0.1, 0.3, 400), -1, 1):
        bet.update(float(x))
        eb.update(float(x))
    assert bet.lower <= 0.1 <= bet.upper
    assert bet.upper - bet.lower < eb.upper - eb.lower


def test_betting_anytime_coverage_over_many_sequences() -> None:
    rng = np.random.default_rng(4)
    missed_low = missed_high = 0
    for _ in range(200):
        cs = BettingCS(0.1, 0, 1)
        ever_low = ever_high = False
        for x in rng.random(200) < 0.3:
            cs.update(float(x))
            ever_low |= cs.lower > 0.3
            ever_high |= cs.upper < 0.3
        missed_low += ever_low
        missed_high += ever_high
    assert missed_low <= 30 and missed_high <= 30  # alpha 0.1: 20 expected at most


def test_betting_false_rejections_of_a_true_null_stay_below_alpha() -> None:
    # Paired differences symmetric about 0 (a faithful candidate): H0 Δ ≥ 0 holds.
    rng = np.random.default_rng(5)
    rejected = 0
    for _ in range(300):
        cs = BettingCS(0.05, -1, 1, null=0.0)
        p = rng.beta(0.5, 1.5, 150)
        for d in rng.binomial(4, p) / 4 - rng.binomial(4, p) / 4:
            cs.update(float(d))
        rejected += cs.rejects_null()
    assert rejected <= 25  # alpha 0.05 of 300 is 15; Ville makes it at most that in expectation


def test_betting_rejects_a_clear_drop_sooner_than_empirical_bernstein() -> None:
    rng = np.random.default_rng(6)
    first: dict[str, int | None] = {"bet": None, "eb": None}
    bet, eb = BettingCS(0.05, -1, 1, null=0.0), BoundedMeanCS(0.05, -1, 1, null=0.0)
    diffs = (rng.random(200) < 0.12).astype(float) - (rng.random(200) < 0.39)
    for t, d in enumerate(diffs, 1):
        bet.update(float(d))
        eb.update(float(d))
        for name, cs in (("bet", bet), ("eb", eb)):
            if first[name] is None and cs.rejects_null():
                first[name] = t
    assert first["bet"] is not None and first["eb"] is not None and first["bet"] < first["eb"]
    assert bet.max_e_value >= 20 and bet.upper <= 0.0


def test_betting_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        BettingCS(1.0)
    with pytest.raises(ValueError):
        BettingCS(0.05, 1, 0)
    with pytest.raises(ValueError):
        BettingCS(0.05, 0, 1, null=2.0)
    with pytest.raises(ValueError):
        BettingCS(0.05).update(float("nan"))

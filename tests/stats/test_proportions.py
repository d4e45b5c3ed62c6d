"""Intervals for proportions and means: published values, edges, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from parity.stats.proportions import bootstrap_ci, mean_ci, newcombe_diff, paired_diff, wilson
from parity.verdict import Estimate


def bounds(est: Estimate) -> tuple[float, float, float]:
    """(low, value, high) of an estimate that must have all three."""
    assert est.low is not None and est.value is not None and est.high is not None
    return est.low, est.value, est.high


def test_wilson_known_value() -> None:
    # 8/10 at 95%: hand-computed from the closed form, [0.4902, 0.9433].
    est = wilson(8, 10)
    assert est.value == pytest.approx(0.8)
    assert est.low == pytest.approx(0.4902, abs=5e-5)
    assert est.high == pytest.approx(0.9433, abs=5e-5)
    assert (est.n, est.k, est.method, est.level) == (10, 8, "wilson", 0.95)


def test_wilson_edges() -> None:
    assert wilson(0, 10).low == 0.0
    assert wilson(10, 10).high == 1.0
    empty = wilson(0, 0)
    assert empty.value is None and empty.low is None and empty.high is None
    assert empty.fmt() == "n/a (n=0)"
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(1, 2, level=1.0)


def test_wilson_exact_coverage_is_near_nominal() -> None:
    # Exact coverage (a sum over the binomial pmf, no simulation), averaged over p:
    # the Wilson interval is known to be close to nominal on average.
    n, level = 40, 0.95
    intervals = [bounds(wilson(k, n, level)) for k in range(n + 1)]
    ps = np.linspace(0.01, 0.99, 99)
    coverage = [
        sum(sps.binom.pmf(k, n, p) for k, (lo, _, hi) in enumerate(intervals) if lo <= p <= hi)
        for p in ps
    ]
    assert abs(float(np.mean(coverage)) - level) < 0.01


def test_wilson_narrows_with_level() -> None:
    (wide_lo, _, wide_hi), (lo, _, hi) = bounds(wilson(30, 100, 0.99)), bounds(wilson(30, 100, 0.8))
    assert wide_lo < lo < hi < wide_hi


def test_newcombe_published_example() -> None:
    # Newcombe (1998) Stat. Med. 17:873, example (a): 56/70 vs 48/80, method 10.
    est = newcombe_diff(56, 70, 48, 80)
    assert est.value == pytest.approx(0.2)
    assert est.low == pytest.approx(0.0524, abs=5e-5)
    assert est.high == pytest.approx(0.3339, abs=5e-5)
    assert est.method == "newcombe" and est.n == 150


def test_newcombe_edges() -> None:
    assert newcombe_diff(0, 0, 3, 10).value is None
    low, value, high = bounds(newcombe_diff(10, 10, 0, 10))
    assert value == 1.0 and high == 1.0 and 0.0 < low < 1.0
    low, _, high = bounds(newcombe_diff(5, 10, 5, 10))
    assert low == pytest.approx(-high)


def test_paired_diff_published_example() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables",
    # ch. 8, Cavo et al. (2012): n12=6, n21=16, N=161; Tango CI -0.1240 to -0.0054.
    est = paired_diff(6, 16, 161)
    assert est.value == pytest.approx(-10 / 161)
    assert est.low == pytest.approx(-0.1240, abs=5e-5)
    assert est.high == pytest.approx(-0.0054, abs=5e-5)
    assert est.method == "tango" and est.n == 161


def test_paired_diff_contains_estimate_on_all_small_tables() -> None:
    for n in range(1, 13):
        for b in range(n + 1):
            for c in range(n + 1 - b):
                low, value, high = bounds(paired_diff(b, c, n))
                assert -1.0 <= low <= value <= high <= 1.0


def test_paired_diff_edges() -> None:
    assert paired_diff(0, 0, 0).value is None
    all_yes_no = paired_diff(10, 0, 10)
    assert all_yes_no.value == 1.0 and all_yes_no.high == 1.0
    low, _, high = bounds(paired_diff(0, 0, 50))
    assert low == pytest.approx(-high)
    with pytest.raises(ValueError):
        paired_diff(6, 6, 10)


def test_mean_ci_hand_checked() -> None:
    # mean 2.5, s = 1.2910, t_{0.975,3} = 3.1824 → 2.5 ± 2.0543.
    est = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert est.value == pytest.approx(2.5)
    assert est.low == pytest.approx(0.4457, abs=5e-5)
    assert est.high == pytest.approx(4.5543, abs=5e-5)
    assert est.method == "t" and est.k is None


def test_mean_ci_small_samples() -> None:
    assert mean_ci([]).value is None
    one = mean_ci([3.0])
    assert one.value == 3.0 and one.low is None and one.high is None


def test_bootstrap_is_deterministic_and_close_to_t_for_a_normal_mean() -> None:
    x = np.random.default_rng(7).normal(10.0, 2.0, 400).tolist()
    a, b = bootstrap_ci(x, seed=3), bootstrap_ci(x, seed=3)
    assert a == b
    t_low, _, t_high = bounds(mean_ci(x))
    width = t_high - t_low
    assert a.low == pytest.approx(t_low, abs=0.1 * width)
    assert a.high == pytest.approx(t_high, abs=0.1 * width)
    assert a.method == "bootstrap-percentile" and a.n == 400


def test_bootstrap_other_statistic_and_edges() -> None:
    est = bootstrap_ci([1.0, 2.0, 3.0, 100.0, 5.0], stat=np.median, n_boot=500)
    low, value, high = bounds(est)
    assert value == 3.0 and low <= value <= high
    assert bootstrap_ci([]).value is None
    with pytest.raises(ValueError):
        bootstrap_ci([1.0], n_boot=0)


def test_bootstrap_does_not_depend_on_the_order_of_the_values() -> None:
    rng = np.random.default_rng(3)
    x = rng.exponential(size=60)
    base = bootstrap_ci(x, seed=7)
    for _ in range(5):
        shuffled = bootstrap_ci(rng.permutation(x), seed=7)
        assert (shuffled.low, shuffled.high, shuffled.value) == (base.low, base.high, base.value)


def test_every_estimate_says_what_it_is() -> None:
    from parity.stats import bootstrap_ci, mean_ci, newcombe_diff, paired_diff, wilson
    from parity.verdict import EstimateKind as K

    assert wilson(3, 10).kind is K.PROPORTION and wilson(0, 0).kind is K.PROPORTION
    assert newcombe_diff(3, 10, 5, 10).kind is K.DIFFERENCE and paired_diff(2, 5, 20).kind is K.DIFFERENCE
    assert mean_ci([0.1, 0.2]).kind is K.RATE and bootstrap_ci([1.0, 2.0], n_boot=10).kind is K.RATE
    assert mean_ci([1.0, 0.0], kind=K.PROPORTION).kind is K.PROPORTION

"""Order-statistic confidence intervals for quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from parity.stats import quantile_ci


def test_median_interval_of_1_to_100() -> None:
    est = quantile_ci([float(v) for v in range(1, 101)], 0.5)
    assert est.value == pytest.approx(50.5) and est.n == 100
    assert est.low is not None and est.high is not None and est.low < 50.5 < est.high
    assert 35 <= est.low and est.high <= 66


def test_too_few_values_leave_the_interval_open() -> None:
    est = quantile_ci([1.0, 2.0, 3.0], 0.9)
    assert est.value is not None and est.low is None and est.high is None
    assert quantile_ci([], 0.5).value is None


def test_coverage_is_at_least_the_level() -> None:
    rng = np.random.default_rng(0)
    true_p90 = float(-np.log(0.1))  # exponential(1)
    covered = 0
    for _ in range(300):
        est = quantile_ci(list(rng.exponential(1.0, 60)), 0.9)
        covered += est.low is not None and est.high is not None and est.low <= true_p90 <= est.high
    assert covered >= 270  # nominal >= 95%: 285 expected


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        quantile_ci([1.0], 1.0)
    with pytest.raises(ValueError):
        quantile_ci([1.0], 0.5, level=1.0)

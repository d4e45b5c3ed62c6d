"""Which metrics are proportions, and how every figure is written."""

from __future__ import annotations

import pytest

from parity.report import is_proportion
from parity.report._format import fmt_interval, fmt_n, fmt_p, fmt_value, is_effect
from parity.stats import wilson
from parity.verdict import Estimate


@pytest.mark.parametrize(
    "name",
    ["rate.tool_call.invalid_json", "finish_stop", "propensity", "request_failure_rate",
     "schema_accuracy", "bfcl_accuracy.simple", "trigger_agreement", "reference_self_agreement",
     "k2vv_similarity", "k2vv_schema_errors"],
)
def test_proportions(name: str) -> None:
    assert is_proportion(name)


@pytest.mark.parametrize("name", ["trigger_rate_diff", "excess_disagreement", "latency_ms", "trigger_f1", "mmd2"])
def test_plain_numbers(name: str) -> None:
    assert not is_proportion(name)


def test_effects() -> None:
    assert is_effect("toolcall_error_diff") and is_effect("excess_disagreement")
    assert not is_effect("propensity")


def test_cells_read_as_estimate_fmt() -> None:
    e = wilson(9, 40)
    for pct in (True, False):
        assert f"{fmt_value(e, pct)} {fmt_interval(e, pct).replace('%', '')} (n={e.n})".replace(
            "%", "") == e.fmt(percent=pct).replace("%", "")
    assert fmt_n(e) == "9 of 40"
    assert fmt_n(Estimate(value=0.1, n=7)) == "7"


def test_missing_values() -> None:
    e = Estimate(value=None, n=0)
    assert (fmt_value(e, True), fmt_interval(e, True)) == ("n/a", "—")
    assert fmt_p(None) == "—" and fmt_p(0.00001234) == "1.23e-05"
    assert fmt_interval(Estimate(value=0.5, low=0.4, high=0.6, n=10, level=0.9), True) == "[40.0%, 60.0%] (90%)"


def test_the_kind_decides_not_the_name() -> None:
    from parity.report._format import is_effect_estimate, shown_in_percent
    from parity.verdict import EstimateKind

    share = Estimate(value=0.5, n=4, kind=EstimateKind.PROPORTION)
    mean = Estimate(value=0.5, n=4, kind=EstimateKind.RATE)
    diff = Estimate(value=0.1, n=4, kind=EstimateKind.DIFFERENCE)
    assert shown_in_percent("anything", share) and not shown_in_percent("schema_accuracy", mean)
    assert is_effect_estimate("anything", diff) and not is_effect_estimate("x_diff", share)
    legacy = Estimate(value=0.5, n=4)  # stored before kinds: the name decides
    assert shown_in_percent("schema_accuracy", legacy) and is_effect_estimate("x_diff", legacy)

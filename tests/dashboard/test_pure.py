"""Filters, chart series and sparklines: pure functions, no store."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

import parity.dashboard
from parity.dashboard._filters import FilterError, parse_filters
from parity.dashboard._series import Chart, Line, align, latency_line, sparkline_svg
from parity.dashboard._views import age

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_exports() -> None:
    assert sorted(parity.dashboard.__all__) == ["CSP", "DashboardError", "Live", "LiveSource", "check_vendor",
                                                "create_dashboard"]


def test_range_and_custom_times() -> None:
    f = parse_filters({"range": ["30d"]}, NOW)
    assert (f.start, f.end, f.range) == (NOW - timedelta(days=30), NOW, "30d")
    g = parse_filters({"from": ["2026-11-01"], "to": ["2026-11-02T06:00"]}, NOW)
    assert g.range == "custom" and g.span == timedelta(days=1, hours=6)
    assert "from=2026-11-01T00%3A00" in g.query()
    assert "from" not in g.query(range="7d")  # picking a preset drops the custom times


def test_endpoints_by_repeat_or_comma_deduplicated() -> None:
    f = parse_filters({"endpoint": ["a,b", "b", "c"]}, NOW)
    assert f.endpoints == ("a", "b", "c")
    assert f.query(endpoint=[]) == "range=7d"


@pytest.mark.parametrize("query", [{"range": ["1y"]}, {"from": ["x"]}, {"endpoint": ["a b"]},
                                   {"endpoint": [",".join(f"e{i}" for i in range(13))]},
                                   {"from": ["2026-11-02"], "to": ["2026-11-01"]}, {"model": ["a\x00b"]}])
def test_bad_filters_raise(query: dict[str, list[str]]) -> None:
    with pytest.raises(FilterError):
        parse_filters(query, NOW)


def test_latency_interval_from_count_mean_and_square() -> None:
    xs = [1.0, 2.0, 3.0, 4.0]
    mean, sq = sum(xs) / 4, sum(x * x for x in xs) / 4
    (x, m, lo, hi, n), = latency_line("e", 0.0, 60, [(2, 4, mean, sq)]).points
    half = 1.959963984540054 * math.sqrt((5 / 3) / 4)  # sample variance 5/3
    assert (x, m, n) == (150.0, 2.5, 4)
    assert lo == pytest.approx(2.5 - half) and hi == pytest.approx(2.5 + half)
    (_, _, lo1, hi1, _), = latency_line("e", 0.0, 60, [(0, 1, 2.0, 4.0)]).points
    assert lo1 is None and hi1 is None  # one answer: no interval claimed


def test_align_puts_lines_on_one_x_axis() -> None:
    a = Line("a", [(1.0, 0.1, 0.0, 0.2, 10), (3.0, 0.3, 0.2, 0.4, 10)])
    b = Line("b", [(2.0, float("nan"), None, None, 5)])
    d = align(Chart("k", "t", "%", [a, b]))
    assert d["x"] == [1.0, 2.0, 3.0]
    assert d["series"][0]["y"] == [0.1, None, 0.3] and d["series"][0]["band"]
    assert d["series"][1]["y"] == [None, None, None] and not d["series"][1]["band"]


def test_sparkline_is_numbers_only() -> None:
    svg = sparkline_svg([1.0, None, 10.0, 100.0], "changed")
    assert svg.startswith('<svg class="spark changed"') and "polyline" in svg
    assert 'class="spark empty"' in sparkline_svg([None, None], "healthy")


def test_age() -> None:
    assert age(NOW - timedelta(hours=5, minutes=3), NOW) == "5 h ago"
    assert age(NOW - timedelta(days=3), NOW) == "3 d ago"
    assert age(NOW + timedelta(seconds=5), NOW) == "0 s ago"

"""Chart data (pure): buckets and verdict metrics -> aligned series with their 95% bands.

A chart goes to the page as JSON in a ``<script type="application/json">``
block; ``static/dashboard.js`` draws it with uPlot. Sparklines are inline SVG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parity.verdict import Estimate

__all__ = ["KEY_METRICS", "Chart", "Line", "align", "latency_line", "sparkline_svg", "statistic_line",
           "verdict_lines"]

Z95 = 1.959963984540054
# (metric name in a verdict, title, unit); '%' means a proportion shown as a percentage.
KEY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("toolcall_error_rate", "Tool-call error rate", "%"),
    ("trigger_agreement", "Trigger agreement with the reference", "%"),
    ("propensity", "Tool-call propensity", "%"),
    ("mmd2", "Equality statistic (MMD²)", ""),
    ("first_token_tv", "First-token TV distance", ""),
    ("schema_accuracy", "Accuracy: schema-valid calls", "%"),
)


@dataclass
class Line:
    """One series: points (epoch seconds, value, 95% low, 95% high, count)."""

    label: str
    points: list[tuple[float, float | None, float | None, float | None, int]] = field(default_factory=list)

    @property
    def last(self) -> str:
        for _x, y, lo, hi, n in reversed(self.points):
            if y is not None:
                return Estimate(value=y, low=lo, high=hi, n=n).fmt(4)
        return "no data"


@dataclass
class Chart:
    key: str
    title: str
    unit: str
    lines: list[Line]
    log: bool = False
    thresholds: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""

    @property
    def empty(self) -> bool:
        return not any(p[1] is not None for line in self.lines for p in line.points)

    def data(self) -> dict[str, Any]:
        return align(self)


def _clean(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


def align(chart: Chart) -> dict[str, Any]:
    """uPlot wants one x array; series with other x values get nulls (gaps are spanned)."""
    xs = sorted({p[0] for line in chart.lines for p in line.points})
    index = {x: i for i, x in enumerate(xs)}
    series = []
    for line in chart.lines:
        y: list[float | None] = [None] * len(xs)
        lo: list[float | None] = [None] * len(xs)
        hi: list[float | None] = [None] * len(xs)
        n: list[int | None] = [None] * len(xs)
        for x, v, a, b, k in line.points:
            i = index[x]
            y[i], lo[i], hi[i], n[i] = _clean(v), _clean(a), _clean(b), k
        series.append({"label": line.label, "y": y, "lo": lo, "hi": hi, "n": n,
                       "band": any(v is not None for v in lo)})
    return {"title": chart.title, "unit": chart.unit, "log": chart.log, "x": xs, "series": series,
            "thresholds": [{"label": k, "y": v} for k, v in chart.thresholds]}


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def verdict_lines(metric: str, label: str, rows: Iterable[tuple[datetime, dict[str, Any]]]) -> Line:
    """One point per verdict that measured ``metric``; ``rows``: (time, the verdict's metrics as stored)."""
    line = Line(label)
    for at, metrics in rows:
        est = metrics.get(metric)
        value = _num(est.get("value")) if isinstance(est, dict) else None
        if isinstance(est, dict) and value is not None:
            n = est.get("n")
            line.points.append((at.timestamp(), value, _num(est.get("low")), _num(est.get("high")),
                                n if isinstance(n, int) else 0))
    return line


def latency_line(label: str, t0: float, width_s: int, rows: Sequence[tuple[int, int, float, float]]) -> Line:
    """Mean latency per bucket with a normal 95% interval (n >= 2), from count, mean and mean square."""
    line = Line(label)
    for bucket, n, mean, mean_sq in rows:
        lo = hi = None
        if n >= 2:
            var = max(0.0, (mean_sq - mean * mean) * n / (n - 1))
            half = Z95 * math.sqrt(var / n)
            lo, hi = max(0.0, mean - half), mean + half
        line.points.append((t0 + (bucket + 0.5) * width_s, mean, lo, hi, n))
    return line


def statistic_line(label: str, t0: float, width_s: int, rows: Sequence[tuple[int, int, float, int]]) -> Line:
    """The largest e-CUSUM statistic of each bucket (no band: it is itself an anytime-valid test)."""
    line = Line(label)
    for bucket, done, top, _skipped in rows:
        if done and math.isfinite(top):
            line.points.append((t0 + (bucket + 0.5) * width_s, max(top, 1e-3), None, None, done))
    return line


def sparkline_svg(values: Sequence[float | None], css_class: str, width: int = 120, height: int = 24) -> str:
    """An inline SVG polyline of log10 values (no text from outside: numbers only)."""
    pts = [(i, math.log10(max(v, 1e-3))) for i, v in enumerate(values) if v is not None]
    if not pts:
        return (f'<svg class="spark empty" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                'role="img" aria-label="no sentinel ticks in range"></svg>')
    lo = min(min(y for _, y in pts), 0.0)
    hi = max(max(y for _, y in pts), lo + 1.0)
    step = width / max(len(values) - 1, 1)
    coords = " ".join(f"{i * step:.1f},{height - 2 - (y - lo) / (hi - lo) * (height - 4):.1f}" for i, y in pts)
    return (f'<svg class="spark {css_class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="sentinel statistic, {len(pts)} buckets">'
            f'<polyline fill="none" points="{coords}"/></svg>')

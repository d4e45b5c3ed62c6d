"""A forest plot as inline SVG: each candidate's effects with their 95% intervals.

Drawn by hand so the report stays one self-contained file with no scripts.
"""

from __future__ import annotations

import math
import re
from itertools import groupby

from markupsafe import Markup, escape

from ._format import fmt_interval, fmt_value
from ._view import Forest, ForestRow

WIDTH, ROW, LABEL_W, PLOT_W, TOP, AXIS_H = 860, 20, 250, 380, 8, 40
COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700", "error": "#8250df"}


def _ticks(lo: float, hi: float) -> list[float]:
    """Four to eight round ticks (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    raw = (hi - lo) / 8 or 1.0
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step)
    return [round(i * step, 10) for i in range(first, math.floor(hi / step) + 1)]


def _short(s: str, limit: int = 34) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _extent(rows: list[ForestRow], margin: float | None) -> tuple[float, float]:
    xs = [0.0]
    for r in rows:
        e = r.estimate
        xs.extend(x for x in (e.value, e.low, e.high) if x is not None)
    if margin is not None:
        xs.extend((-margin, margin))
    lo, hi = min(xs), max(xs)
    pad = (hi - lo) * 0.06 or 0.05
    return lo - pad, hi + pad


def _row(r: ForestRow, y: float, sx: float, scale: float, lo: float) -> list[str]:
    def x(v: float) -> float:
        return sx + (v - lo) * scale

    e, colour = r.estimate, COLOURS.get(r.outcome, "#57606a")
    if e.value is None:
        return []
    out = [f'<text x="24" y="{y + 4:.1f}" class="lbl">{escape(_short(r.effect))}</text>']
    if e.low is not None and e.high is not None:
        out.append(f'<line x1="{x(e.low):.1f}" x2="{x(e.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        for end in (e.low, e.high):
            out.append(f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{y - 4:.1f}" y2="{y + 4:.1f}" '
                       f'stroke="{colour}" stroke-width="1.5"/>')
    out.append(f'<rect x="{x(e.value) - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>')
    text = f"{fmt_value(e, False)} {fmt_interval(e, False)} n={e.n}"
    out.append(f'<text x="{sx + PLOT_W + 12}" y="{y + 4:.1f}" class="num">{escape(text)}</text>')
    return out


def forest_svg(forest: Forest) -> Markup:
    """One row per (candidate, effect); shaded band = ±margin, dashed line = no difference."""
    rows = forest.rows
    groups = [(ep, list(g)) for ep, g in groupby(rows, key=lambda r: r.endpoint)]
    height = TOP + ROW * (len(rows) + len(groups)) + AXIS_H
    lo, hi = _extent(rows, forest.margin)
    sx, scale = LABEL_W, PLOT_W / (hi - lo)
    bottom = height - AXIS_H + 4

    def x(v: float) -> float:
        return sx + (v - lo) * scale

    fid = "forest-" + re.sub(r"[^A-Za-z0-9_-]+", "-", forest.suite)
    parts = [
        f'<svg class="forest" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-labelledby="{fid}">',
        f'<title id="{fid}">Effects against the reference, suite '
        f"{escape(forest.suite)}, with 95% intervals</title>",
    ]
    if forest.margin is not None:
        parts.append(f'<rect x="{x(-forest.margin):.1f}" y="{TOP}" width="{2 * forest.margin * scale:.1f}" '
                     f'height="{bottom - TOP:.1f}" class="band"/>')
    parts.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{TOP}" y2="{bottom:.1f}" class="zero"/>')
    y = TOP + ROW / 2
    for ep, members in groups:
        outcome = members[0].outcome
        parts.append(f'<text x="6" y="{y + 4:.1f}" class="ep">{escape(_short(ep, 60))} '
                     f'<tspan fill="{COLOURS.get(outcome, "#57606a")}">({escape(outcome)})</tspan></text>')
        y += ROW
        for r in members:
            parts.extend(_row(r, y, sx, scale, lo))
            y += ROW
    parts.append(f'<line x1="{sx}" x2="{sx + PLOT_W}" y1="{bottom:.1f}" y2="{bottom:.1f}" class="axis"/>')
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{bottom:.1f}" y2="{bottom + 4:.1f}" class="axis"/>'
                     f'<text x="{x(t):.1f}" y="{bottom + 16:.1f}" class="tick">{t:g}</text>')
    caption = "candidate − reference"
    if forest.margin is not None:
        caption += f"; shaded: equivalence margin ±{forest.margin:g}"
    parts.append(f'<text x="{sx + PLOT_W / 2:.1f}" y="{bottom + 30:.1f}" class="tick">{escape(caption)}</text>')
    parts.append("</svg>")
    return Markup("\n".join(parts))

"""Per-item accuracy as box plots (inline SVG): how the repeats spread item by item.

Each endpoint's box spans the quartiles of its items' accuracies (each item's
share of correct answers over its repeats), the line is the median and the
whiskers reach the lowest and highest item. Drawn by hand, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from ._choice import ChoiceRow

WIDTH, ROW, LABEL_W, PLOT_W, TOP = 760, 26, 200, 500, 10


def _x(v: float) -> float:
    return LABEL_W + PLOT_W * min(max(v, 0.0), 1.0)


def box_svg(rows: Sequence[ChoiceRow]) -> Markup | None:
    """None when no endpoint has per-item accuracies."""
    drawn = [r for r in rows if r.spread is not None]
    if not drawn:
        return None
    height = TOP + ROW * len(drawn) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'role="img" aria-label="per-item accuracy box plots" font-size="12">']
    for i, r in enumerate(drawn):
        lo, q1, med, q3, hi = r.spread or (0.0,) * 5
        y = TOP + ROW * i + ROW / 2
        name = escape(r.endpoint if len(r.endpoint) <= 28 else r.endpoint[:27] + "…")
        parts += [
            f'<text x="{LABEL_W - 8}" y="{y + 4:.1f}" text-anchor="end">{name}</text>',
            f'<line x1="{_x(lo):.1f}" x2="{_x(hi):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#555"/>',
            f'<rect x="{_x(q1):.1f}" y="{y - 7:.1f}" width="{max(_x(q3) - _x(q1), 1):.1f}" height="14" '
            f'fill="#ddf4ff" stroke="#0969da"/>',
            f'<line x1="{_x(med):.1f}" x2="{_x(med):.1f}" y1="{y - 7:.1f}" y2="{y + 7:.1f}" '
            f'stroke="#0969da" stroke-width="2"/>',
        ]
    axis = TOP + ROW * len(drawn) + 6
    parts.append(f'<line x1="{LABEL_W}" x2="{LABEL_W + PLOT_W}" y1="{axis}" y2="{axis}" stroke="#999"/>')
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{_x(t):.1f}" y="{axis + 16}" text-anchor="middle">{t:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

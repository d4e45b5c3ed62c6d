"""The watch's history in a report: per endpoint, the sentinel statistic over time, its levels, transitions.

Read from the store (:func:`watch_history`) for the run's endpoints; drawn as
inline SVG (:func:`timeseries_svg`: log-scale statistic, dashed alarm and
suspect levels, a vertical mark per transition) and summarised in Markdown and
``results.json``. Absent when the store holds no watch ticks for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

from parity.store import Store
from parity.verdict import Verdict

__all__ = ["WatchHistory", "WatchStream", "timeseries_svg", "watch_for_run", "watch_history"]

MAX_POINTS = 500  # per stream: longer histories keep the largest statistic of each run of ticks
DAYS = 7.0  # the period shown: the days before the newest tick
W, H, LEFT, RIGHT, TOP, BOTTOM = 860, 220, 64, 16, 14, 42
COLOURS = {"healthy": "#1a7f37", "suspect": "#9a6700", "changed": "#cf222e", "recovering": "#0969da"}


class WatchPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime = Field(description="Scheduled time of the (last) tick.")
    statistic: float = Field(description="The e-CUSUM statistic (largest of the ticks it stands for).")
    state: str


class WatchMark(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    from_state: str
    to_state: str
    statistic: float
    id: str = Field(description="The transition's id (alerts are keyed by it).")


class WatchStream(BaseModel):
    """One endpoint's watched stream (``sentinel``, or ``sentinel-reference`` for the reference)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    stream: str
    ticks: int = Field(description="Ticks done in the period (skipped ones excluded).")
    skipped: int = Field(description="Ticks skipped in the period (budget).")
    state: str = Field(description="The state after the newest tick.")
    alarm: float | None = Field(description="The alarm level (None when the store does not say).")
    warn: float | None = Field(description="The suspect level (None when the store does not say).")
    points: list[WatchPoint] = Field(description=f"At most {MAX_POINTS}, oldest first.")
    transitions: list[WatchMark]


class WatchHistory(BaseModel):
    """The watch's view of the run's endpoints over the period before the newest tick."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1
    since: datetime
    until: datetime
    streams: list[WatchStream]


def _thin(points: Sequence[WatchPoint], n: int = MAX_POINTS) -> list[WatchPoint]:
    if len(points) <= n:
        return list(points)
    out = []
    for i in range(n):
        chunk = points[i * len(points) // n:(i + 1) * len(points) // n]
        top = max(chunk, key=lambda p: p.statistic)
        out.append(WatchPoint(at=chunk[-1].at, statistic=top.statistic, state=chunk[-1].state))
    return out


def watch_history(store: Store, endpoints: Sequence[str], days: float = DAYS) -> WatchHistory | None:
    """The run's endpoints' watch history over ``days`` before the newest tick; None if none is stored."""
    from parity.watch._store import WatchStore

    ws = WatchStore(store)
    newest = [t for e in endpoints for t in ws.ticks(e, last=1)]
    if not newest:
        return None
    until = max(t.scheduled_at for t in newest)
    since = until - timedelta(days=days)
    streams = []
    for endpoint in endpoints:
        ticks = ws.ticks(endpoint, since=since)
        trs = [t for t in ws.transitions(endpoint) if t.at >= since]
        for stream in sorted({t.stream for t in ticks}):
            done = [t for t in ticks if t.stream == stream and t.status == "done" and t.statistic is not None]
            mine = [t for t in trs if t.suite == stream]
            if not done:
                continue
            levels = [(t.alarm, t.warn) for t in done[-1:] if t.alarm is not None]
            levels = levels or [(t.alarm, t.warn) for t in mine[-1:]]
            points = [WatchPoint(at=t.scheduled_at, statistic=float(t.statistic or 0.0),
                                 state=(t.state.value if t.state else "healthy")) for t in done]
            streams.append(WatchStream(
                endpoint=endpoint, stream=stream, ticks=len(done),
                skipped=sum(t.stream == stream and t.status == "skipped" for t in ticks),
                state=points[-1].state, alarm=levels[0][0] if levels else None,
                warn=levels[0][1] if levels else None, points=_thin(points),
                transitions=[WatchMark(at=t.at, from_state=t.from_state.value, to_state=t.to_state.value,
                                       statistic=t.statistic, id=t.id) for t in mine]))
    return WatchHistory(since=since, until=until, streams=streams) if streams else None


def watch_for_run(store: Store, run_reference: str, verdicts: Sequence[Verdict]) -> WatchHistory | None:
    """:func:`watch_history` of a run's endpoints: its reference and every endpoint with a verdict."""
    names = [run_reference, *sorted({v.endpoint for v in verdicts} - {run_reference})]
    return watch_history(store, names)


def _log(v: float) -> float:
    return math.log10(max(v, 1e-3))


def timeseries_svg(s: WatchStream, since: datetime, until: datetime) -> Markup:
    """The statistic on a log scale over time; dashed: alarm (red) and suspect (amber) levels."""
    span = max((until - since).total_seconds(), 1.0)
    levels = [v for v in (s.alarm, s.warn) if v is not None]
    top = max([_log(p.statistic) for p in s.points] + [_log(v) for v in levels] + [1.0]) * 1.08
    bottom = min([_log(p.statistic) for p in s.points] + [0.0])
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + (at - since).total_seconds() / span * pw

    def y(v: float) -> float:
        return TOP + (top - _log(v)) / (top - bottom) * ph

    sid = "watch-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{s.endpoint}-{s.stream}")
    parts = [f'<svg class="watch" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
             f'aria-labelledby="{sid}">',
             f'<title id="{sid}">Watch statistic of {escape(s.endpoint)} ({escape(s.stream)}) over time, '
             f"log scale, with its alarm and suspect levels</title>"]
    for k in range(math.floor(bottom), math.floor(top) + 1):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(10.0**k):.1f}" y2="{y(10.0**k):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y(10.0**k) + 4:.1f}" class="ylab">{10.0**k:g}</text>')
    for value, cls, name in ((s.alarm, "alarm", "alarm"), (s.warn, "warn", "suspect")):
        if value is not None:
            parts.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                         f'class="{cls}"/><text x="{LEFT + pw - 4}" y="{y(value) - 4:.1f}" class="lvl">'
                         f"{name} {value:g}</text>")
    for t in s.transitions:
        colour = COLOURS.get(t.to_state, "#57606a")
        parts.append(f'<line x1="{x(t.at):.1f}" x2="{x(t.at):.1f}" y1="{TOP}" y2="{TOP + ph}" stroke="{colour}" '
                     f'class="mark"><title>{escape(t.from_state)} → {escape(t.to_state)} at '
                     f"{t.at:%Y-%m-%d %H:%M} UTC, statistic {t.statistic:.4g}</title></line>")
    path = " ".join(f"{x(p.at):.1f},{y(p.statistic):.1f}" for p in s.points)
    parts.append(f'<polyline points="{path}" class="stat"/>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}" class="axis"/>')
    for i in range(5):
        at = since + timedelta(seconds=span * i / 4)
        parts.append(f'<text x="{x(at):.1f}" y="{TOP + ph + 16}" class="tick">{at:%m-%d %H:%M}</text>')
    parts.append(f'<text x="{LEFT + pw / 2:.1f}" y="{H - 6}" class="tick">UTC; vertical marks: transitions '
                 f"(green healthy, amber suspect, red changed, blue recovering)</text></svg>")
    return Markup("\n".join(parts))


def watch_markdown(w: WatchHistory) -> list[str]:
    """The Markdown section: one row per stream, its transitions listed."""
    from ._markdown import md_text

    out = ["## Watch history", "",
           f"{w.since:%Y-%m-%d %H:%M} to {w.until:%Y-%m-%d %H:%M} UTC (the statistic: the watch's e-CUSUM; "
           "an alarm when it reaches the alarm level).", "",
           "| endpoint | stream | ticks | skipped | state now | largest statistic | alarm level | transitions |",
           "|---|---|---|---|---|---|---|---|"]
    for s in w.streams:
        trs = "; ".join(f"{t.at:%m-%d %H:%M} {t.from_state} → {t.to_state} ({t.statistic:.4g})"
                        for t in s.transitions) or "none"
        top = max(p.statistic for p in s.points)
        alarm = f"{s.alarm:g}" if s.alarm is not None else "not recorded"
        out.append(f"| {md_text(s.endpoint)} | {md_text(s.stream)} | {s.ticks} | {s.skipped} | {s.state} | "
                   f"{top:.4g} | {alarm} | {md_text(trs)} |")
    return [*out, ""]

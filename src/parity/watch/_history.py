"""The history the store keeps, as typed rows and series: sentinel ticks, suite runs, transitions.

``load_history`` reads, with every filter applied in the query (endpoint,
suite or stream, time); ``series`` turns the rows into one time series per
endpoint, stream and metric; ``sparkline`` draws a series in eight levels of
unicode blocks. Read-only: nothing here writes to the store.

Metrics of a tick: ``statistic`` (the e-CUSUM statistic after it),
``mean_observation`` (the mean of its sentinel observations: ``g`` in [-1, 1], about 0 when
healthy; or, with ``controls`` K > 1, rank e-values in [0, K + 1], about 1 when healthy — say
which with :func:`observation_label`; a series never mixes the two), ``requests`` and ``tokens``
(what it cost, every endpoint it charged).
Metrics of a suite run are its verdict's estimates (``metrics``), plus
``e_value`` and ``p_value`` where the verdict has them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import select

from parity.store import Store
from parity.store._tables import verdicts
from parity.verdict import Verdict

from ._detect import State, Transition
from ._store import TickRecord, WatchStore

__all__ = ["SCHEMA_VERSION", "History", "RunPoint", "Series", "load_history", "mean_observation",
           "observation_label", "parse_since", "series", "sparkline"]

SCHEMA_VERSION = 1
TICK_METRICS = ("statistic", "mean_observation", "requests", "tokens")
_BLOCKS = "▁▂▃▄▅▆▇█"
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def observation_label(controls: int) -> str:
    """What a tick's ``mean_observation`` is, from the ``controls`` it stored: ``mean g`` (in
    [-1, 1], about 0 when healthy) or ``mean e-value (K controls)`` (in [0, K + 1], about 1)."""
    return "mean g" if controls <= 1 else f"mean e-value ({controls} controls)"


def mean_observation(observations: Sequence[float]) -> float | None:
    """A tick's ``mean_observation`` (None for a tick without observations: skipped, or failed)."""
    return sum(observations) / len(observations) if observations else None


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` before ``now``, or an ISO date/time (UTC if no zone)."""
    m = _SINCE.match(text)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: expected e.g. 7d, 12h, 30m, 2w or an ISO date, got {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)


class RunPoint(BaseModel):
    """One suite verdict of one run, as history shows it (no evidence, no configuration)."""

    run_id: str
    at: datetime
    endpoint: str
    suite: str
    verdict: str
    metrics: dict[str, float | None] = Field(description="Point estimates; intervals are in the run.")
    e_value: float | None = None
    p_value: float | None = None
    requests: int


class History(BaseModel):
    """What ``parity history --json`` prints."""

    schema_version: int = SCHEMA_VERSION
    since: datetime | None
    endpoint: str | None
    suite: str | None
    ticks: list[TickRecord]
    runs: list[RunPoint]
    transitions: list[Transition]


def _run_points(store: Store, endpoint: str | None, suite: str | None,
                since: datetime | None) -> list[RunPoint]:
    q = select(verdicts.c.run_id, verdicts.c.created_at, verdicts.c.data).order_by(verdicts.c.created_at)
    if endpoint is not None:
        q = q.where(verdicts.c.endpoint == endpoint)
    if suite is not None:
        q = q.where(verdicts.c.suite == suite)
    if since is not None:
        q = q.where(verdicts.c.created_at >= since)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for run_id, at, data in rows:
        v = Verdict.model_validate(orjson.loads(data))
        out.append(RunPoint(run_id=run_id, at=at, endpoint=v.endpoint, suite=v.suite, verdict=v.verdict.value,
                            metrics={k: e.value for k, e in v.metrics.items()}, e_value=v.e_value,
                            p_value=v.p_value, requests=v.requests))
    return out


def load_history(store: Store, *, endpoint: str | None = None, suite: str | None = None,
                 since: datetime | None = None) -> History:
    """Ticks (of every stream, or of ``suite`` as stream), suite runs and transitions.

    ``suite`` matches a tick's stream exactly (``sentinel``, ``sentinel-reference``, a
    suite's name) and a verdict's suite.
    """
    ws = WatchStore(store)
    ticks = ws.ticks(endpoint, suite, since=since)
    trs = [t for t in ws.transitions(endpoint)
           if (suite is None or t.suite == suite) and (since is None or t.at >= since)]
    return History(since=since, endpoint=endpoint, suite=suite, ticks=ticks,
                   runs=_run_points(store, endpoint, suite, since), transitions=trs)


def tick_metrics(t: TickRecord) -> dict[str, float | None]:
    obs = t.observations
    return {"statistic": t.statistic,
            "mean_observation": mean_observation(obs),
            "requests": float(sum(n for n, _ in t.costs.values())) if t.status == "done" else None,
            "tokens": float(sum(k for _, k in t.costs.values())) if t.status == "done" else None}


class Series(BaseModel):
    """One metric of one endpoint's stream (or suite) over time, oldest first."""

    endpoint: str
    stream: str
    metric: str
    kind: str = Field(description="'tick' (watch) or 'run' (suite verdicts).")
    points: list[tuple[datetime, float]]
    skipped: int = Field(default=0, description="Ticks skipped (budget) in the period.")
    state: State | None = Field(default=None, description="The state after the newest tick.")
    controls: int | None = Field(default=None, description="`mean_observation`: the ticks' `controls` "
                                 "(1: g; K > 1: e-values). A change of `controls` starts another series.")

    @property
    def label(self) -> str:
        """The metric as shown: ``mean_observation`` says which observation it is the mean of."""
        if self.metric == "mean_observation" and self.controls is not None:
            return observation_label(self.controls)
        return self.metric

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]


def series(history: History, metrics: Sequence[str] | None = None) -> list[Series]:
    """One series per endpoint, stream and metric; ``metrics`` keeps only those named."""
    keep = set(metrics) if metrics else None
    out: dict[tuple[str, str, str, int | None], Series] = {}

    def add(endpoint: str, stream: str, metric: str, kind: str, at: datetime, value: float | None,
            controls: int | None = None) -> None:
        if value is None or (keep is not None and metric not in keep) or not math.isfinite(value):
            return
        key = (endpoint, stream, metric, controls)
        if key not in out:
            out[key] = Series(endpoint=endpoint, stream=stream, metric=metric, kind=kind, points=[],
                              controls=controls)
        out[key].points.append((at, value))

    skipped: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], State | None] = {}
    for t in history.ticks:
        if t.status == "skipped":
            skipped[(t.endpoint, t.stream)] = skipped.get((t.endpoint, t.stream), 0) + 1
            continue
        last[(t.endpoint, t.stream)] = t.state
        for name, value in tick_metrics(t).items():  # g and e-values are never one series
            add(t.endpoint, t.stream, name, "tick", t.scheduled_at, value,
                t.controls if name == "mean_observation" else None)
    for r in history.runs:
        extra = {"e_value": r.e_value, "p_value": r.p_value}
        for name, value in {**r.metrics, **extra}.items():
            add(r.endpoint, r.suite, name, "run", r.at, value)
    for s in out.values():
        s.skipped = skipped.get((s.endpoint, s.stream), 0)
        s.state = last.get((s.endpoint, s.stream))
    return sorted(out.values(), key=lambda s: (s.endpoint, s.stream, s.kind, s.metric, s.controls or 0))


def _bucket(values: Sequence[float], width: int, how: str) -> list[float]:
    if len(values) <= width:
        return list(values)
    out = []
    for i in range(width):
        chunk = values[i * len(values) // width:(i + 1) * len(values) // width]
        out.append(max(chunk) if how == "max" else sum(chunk) / len(chunk))
    return out


def sparkline(values: Iterable[float], width: int = 32, *, log: bool = False, how: str = "mean") -> str:
    """Eight-level unicode blocks, at most ``width`` wide (buckets of consecutive values).

    ``log``: levels on a log10 scale (for e-values, which span orders of magnitude);
    ``how``: ``mean`` or ``max`` per bucket. A constant series is drawn at the lowest level.
    """
    vs = [v for v in values if math.isfinite(v)]
    if log:
        vs = [math.log10(max(v, 1e-12)) for v in vs]
    vs = _bucket(vs, width, how)
    if not vs:
        return ""
    lo, hi = min(vs), max(vs)
    span = hi - lo
    return "".join(_BLOCKS[0 if span <= 0 else min(7, int((v - lo) / span * 8))] for v in vs)

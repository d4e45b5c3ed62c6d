"""Every read the dashboard makes, in SQLAlchemy Core over the store's engine.

Each query is bounded (a time range on an indexed column, a LIMIT, or a
small table) so a page costs the same after a year of history as after a
day. Sync: pages call these in a worker thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    CTE,
    DateTime,
    Integer,
    and_,
    cast,
    func,
    inspect,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from parity.client import parse_completion
from parity.exchange import Exchange
from parity.store import Store
from parity.store._tables import exchanges, runs, verdicts
from parity.verdict import Verdict
from parity.watch import REFERENCE_STREAM, SENTINEL, Transition
from parity.watch._history import mean_observation, observation_label
from parity.watch._tables import states, ticks, transitions

__all__ = ["LatestVerdict", "Queries", "SeriesBucket", "StateCell", "TickRow", "VerdictPoint", "utc"]

SENTINEL_STREAMS = (SENTINEL, REFERENCE_STREAM)
MAX_VERDICTS = 500
MAX_TRANSITIONS = 200
MAX_EXCHANGES = 50
TIME = DateTime(timezone=True)
RUNS_SCANNED = 200  # newest runs searched for an endpoint's declared configuration


def utc(t: datetime) -> datetime:
    """SQLite hands datetimes back naive (they were stored as UTC); PostgreSQL aware."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class LatestVerdict:
    run_id: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class VerdictPoint:
    """A stored verdict as charts and timelines need it: metrics as stored (Estimate fields)."""

    run_id: str
    at: datetime
    suite: str
    outcome: str
    metrics: dict[str, Any]


@dataclass(frozen=True)
class SeriesBucket:
    """One time bucket of an endpoint's sentinel ticks."""

    bucket: int
    done: int
    top: float  # the largest statistic (nan: none)
    skipped: int
    latency_n: int  # ticks with a latency (their own answers, at least one ok)
    latency_mean: float  # mean of the ticks' mean latencies
    latency_mean_sq: float  # mean of their squares


@dataclass(frozen=True)
class TickRow:
    """A tick behind a transition, as the evidence page lists it."""

    id: str
    at: datetime
    statistic: float | None
    state: str | None
    observations: str  # as JSON
    label: str  # what their mean is: "mean g" or "mean e-value (K controls)", from the stored controls
    mean: float | None


@dataclass(frozen=True)
class StateCell:
    state: str
    statistic: float
    at: datetime


def _buckets(start: datetime, end: datetime, width_s: int) -> CTE:
    """Buckets (i, lo, hi) of ``width_s`` seconds from ``start`` to ``end``, as a CTE of literals."""
    rows = []
    lo, i, step = start, 0, timedelta(seconds=width_s)
    while lo < end:
        rows.append(select(literal(i, Integer).label("i"), literal(lo, TIME).label("lo"),
                           literal(min(lo + step, end), TIME).label("hi")))
        lo, i = lo + step, i + 1
    return union_all(*rows).cte("buckets")


def parse_exchange(data: str) -> Exchange:
    ex = Exchange.model_validate_json(data)
    if ex.status.value == "ok" and ex.response is not None:
        ex.completion = parse_completion(ex.response)
    return ex


class Queries:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self.dialect = self.engine.dialect.name
        self.has_watch = inspect(self.engine).has_table(ticks.name)

    # bucketing: integer bucket index of a timestamp, computed in the database
    def _bucket(self, col: Any, start: datetime, width_s: int) -> ColumnElement[Any]:
        t0 = int(start.timestamp())
        if self.dialect == "postgresql":
            return cast(func.floor((func.extract("epoch", col) - t0) / width_s), Integer)
        # SQLite: strftime("%s") is whole seconds; // is integer division (values are >= 0).
        return (cast(func.strftime("%s", col), Integer) - t0) // width_s

    # overview --------------------------------------------------------------
    def endpoint_names(self) -> list[str]:
        with self.engine.connect() as conn:
            names = set(conn.execute(select(verdicts.c.endpoint).distinct()).scalars())
            if self.has_watch:
                names |= set(conn.execute(select(states.c.endpoint).distinct()).scalars())
        return sorted(names)

    def states(self) -> dict[tuple[str, str], StateCell]:
        if not self.has_watch:
            return {}
        q = select(states.c.endpoint, states.c.stream, states.c.state, states.c.statistic,
                   states.c.updated_at)
        with self.engine.connect() as conn:
            return {(e, s): StateCell(st, float(x), utc(at)) for e, s, st, x, at in conn.execute(q)}

    def latest_verdicts(self) -> dict[tuple[str, str], LatestVerdict]:
        newest = (select(func.max(verdicts.c.id).label("id"))
                  .group_by(verdicts.c.endpoint, verdicts.c.suite).subquery())
        q = select(verdicts.c.endpoint, verdicts.c.suite, verdicts.c.run_id, verdicts.c.verdict,
                   verdicts.c.created_at).join(newest, verdicts.c.id == newest.c.id)
        with self.engine.connect() as conn:
            return {(e, s): LatestVerdict(r, v, utc(at)) for e, s, r, v, at in conn.execute(q)}

    def sparks(self, endpoints: Sequence[str], start: datetime, end: datetime,
               width_s: int) -> dict[str, dict[int, float]]:
        """Per endpoint, the largest sentinel statistic in each bucket of ``width_s`` seconds."""
        if not self.has_watch or not endpoints:
            return {}
        # The buckets' bounds as a table joined to the ticks: each bucket is a range seek on the
        # covering index ix_watch_ticks_series, and the grouping key is a small integer. Computing
        # a bucket per tick (epoch arithmetic) and grouping on it cost 4x more on SQLite.
        b = _buckets(start, end, width_s)
        q = (select(ticks.c.endpoint, b.c.i, func.max(ticks.c.statistic))
             .select_from(b.join(ticks, and_(ticks.c.scheduled_at >= b.c.lo, ticks.c.scheduled_at < b.c.hi)))
             .where(ticks.c.endpoint.in_(list(endpoints)), ticks.c.stream.in_(SENTINEL_STREAMS),
                    ticks.c.status == "done")
             .group_by(ticks.c.endpoint, b.c.i))
        out: dict[str, dict[int, float]] = {}
        with self.engine.connect() as conn:
            for e, bucket, value in conn.execute(q):
                if value is not None:
                    out.setdefault(e, {})[int(bucket)] = float(value)
        return out

    # endpoint --------------------------------------------------------------
    def tick_series(self, endpoint: str, start: datetime, end: datetime, width_s: int) -> list[SeriesBucket]:
        """The endpoint's sentinel ticks per bucket: counts, largest statistic, latency moments.

        One range scan of the covering index ix_watch_ticks_series (schema 3): each tick
        carries the mean latency of its own answers, stored when it was recorded."""
        if not self.has_watch:
            return []
        b = self._bucket(ticks.c.scheduled_at, start, width_s).label("b")
        done = func.sum(cast(ticks.c.status == "done", Integer))
        lat = ticks.c.latency_s
        q = (select(b, done, func.max(ticks.c.statistic), func.count(), func.count(lat), func.avg(lat),
                    func.avg(lat * lat))
             .where(ticks.c.endpoint == endpoint, ticks.c.stream.in_(SENTINEL_STREAMS),
                    ticks.c.scheduled_at >= start, ticks.c.scheduled_at < end)
             .group_by(b).order_by(b))
        with self.engine.connect() as conn:
            return [SeriesBucket(int(k), int(d or 0), float(m) if m is not None else float("nan"),
                                 int(n) - int(d or 0), int(ln), float(lm or 0.0), float(lm2 or 0.0))
                    for k, d, m, n, ln, lm, lm2 in conn.execute(q)]

    def verdicts_in(self, endpoint: str, start: datetime, end: datetime) -> list[VerdictPoint]:
        """The range's verdicts, oldest first; the newest ``MAX_VERDICTS`` of the range."""
        q = (select(verdicts.c.run_id, verdicts.c.created_at, verdicts.c.suite, verdicts.c.verdict,
                    verdicts.c.data)
             .where(verdicts.c.endpoint == endpoint, verdicts.c.created_at >= start,
                    verdicts.c.created_at < end)
             .order_by(verdicts.c.created_at.desc(), verdicts.c.id.desc()).limit(MAX_VERDICTS))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for r, at, suite, outcome, d in reversed(rows):
            metrics = orjson.loads(d).get("metrics")  # only the metrics: a full Verdict costs 10x more
            out.append(VerdictPoint(r, utc(at), suite, outcome, metrics if isinstance(metrics, dict) else {}))
        return out

    def transitions_in(self, endpoints: Iterable[str], start: datetime, end: datetime) -> list[Transition]:
        if not self.has_watch:
            return []
        q = (select(transitions.c.data)
             .where(transitions.c.endpoint.in_(list(endpoints)), transitions.c.at >= start,
                    transitions.c.at < end)
             .order_by(transitions.c.at.desc(), transitions.c.seq.desc()).limit(MAX_TRANSITIONS))
        with self.engine.connect() as conn:
            rows = conn.execute(q).scalars().all()
        return [Transition.model_validate_json(d) for d in reversed(rows)]

    def declared(self, endpoint: str) -> dict[str, Any] | None:
        """The endpoint's configuration as recorded by its newest run (secrets were never stored)."""
        newest = (select(runs.c.config).join(verdicts, verdicts.c.run_id == runs.c.id)
                  .where(verdicts.c.endpoint == endpoint)
                  .order_by(verdicts.c.created_at.desc()).limit(1))
        with self.engine.connect() as conn:
            config = conn.execute(newest).scalar()
        if config is None:
            return None
        for e in orjson.loads(config).get("endpoints", []):
            if isinstance(e, dict) and e.get("name") == endpoint:
                return e
        return None

    def models(self) -> dict[str, str]:
        """Endpoint name -> model id, from the newest runs' configurations."""
        q = select(runs.c.config).order_by(runs.c.created_at.desc()).limit(RUNS_SCANNED)
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for config in conn.execute(q).scalars():
                for e in orjson.loads(config).get("endpoints", []):
                    if isinstance(e, dict) and isinstance(e.get("name"), str):
                        out.setdefault(e["name"], str(e.get("model", "")))
        return out

    def observed(self, endpoint: str) -> list[Exchange]:
        """The endpoint's own answers in its newest done sentinel tick."""
        if not self.has_watch:
            return []
        tick = (select(ticks.c.id).where(ticks.c.endpoint == endpoint, ticks.c.stream.in_(SENTINEL_STREAMS),
                                         ticks.c.status == "done")
                .order_by(ticks.c.scheduled_at.desc()).limit(1)).scalar_subquery()
        q = (select(exchanges.c.data).where(exchanges.c.run_id == tick, exchanges.c.endpoint == endpoint)
             .order_by(exchanges.c.id).limit(MAX_EXCHANGES))
        with self.engine.connect() as conn:
            return [parse_exchange(d) for d in conn.execute(q).scalars()]

    # evidence --------------------------------------------------------------
    def transition(self, transition_id: str) -> Transition | None:
        if not self.has_watch:
            return None
        q = select(transitions.c.data).where(transitions.c.id == transition_id)
        with self.engine.connect() as conn:
            data = conn.execute(q).scalar()
        return Transition.model_validate_json(data) if data else None

    def tick_rows(self, tick_ids: Sequence[str]) -> list[TickRow]:
        """Some ticks, oldest first, each with its observations and what they are (g or e-values)."""
        if not self.has_watch or not tick_ids:
            return []
        q = (select(ticks.c.id, ticks.c.scheduled_at, ticks.c.statistic, ticks.c.state, ticks.c.data)
             .where(ticks.c.id.in_(list(tick_ids)[-MAX_EXCHANGES:])).order_by(ticks.c.scheduled_at))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for i, at, s, st, d in rows:
            data = orjson.loads(d)
            obs = [float(v) for v in data.get("observations", [])]
            controls = data.get("controls", 1)
            out.append(TickRow(i, utc(at), s, st, orjson.dumps(obs).decode(),
                               observation_label(controls if isinstance(controls, int) else 1),
                               mean_observation(obs)))
        return out

    def exchanges_by_key(self, keys: Sequence[str]) -> list[Exchange]:
        """Exchanges named by '<run>/<endpoint>/<suite>/<case hash>/<repeat>' keys."""
        wanted = []
        for key in keys[:MAX_EXCHANGES]:
            parts = key.split("/")
            if len(parts) == 5 and parts[4].isdigit():
                wanted.append((parts[0], parts[1], parts[2], parts[3], int(parts[4])))
        if not wanted:
            return []
        cols = (exchanges.c.run_id, exchanges.c.endpoint, exchanges.c.suite, exchanges.c.case_hash,
                exchanges.c.repeat)
        cond = (tuple_(*cols).in_(wanted) if self.dialect == "postgresql"
                else or_(*(and_(*(c == v for c, v in zip(cols, w, strict=True))) for w in wanted)))
        q = select(exchanges.c.data).where(cond).order_by(exchanges.c.id)
        with self.engine.connect() as conn:
            return [parse_exchange(d) for d in conn.execute(q).scalars()]

    def verdict(self, run_id: str, endpoint: str, suite: str) -> Verdict | None:
        q = select(verdicts.c.data).where(verdicts.c.run_id == run_id, verdicts.c.endpoint == endpoint,
                                          verdicts.c.suite == suite)
        with self.engine.connect() as conn:
            data = conn.execute(q).scalar()
        return Verdict.model_validate_json(data) if data else None

    def run_exchanges(self, run_id: str, endpoint: str, suite: str, failing_first: bool = True
                      ) -> tuple[list[Exchange], int]:
        """Up to ``MAX_EXCHANGES`` of a verdict's exchanges (failed requests first), and how many there are."""
        where = (exchanges.c.run_id == run_id, exchanges.c.endpoint == endpoint, exchanges.c.suite == suite)
        order = [(exchanges.c.status == literal("ok")).asc(), exchanges.c.id] if failing_first else [exchanges.c.id]
        q = select(exchanges.c.data).where(*where).order_by(*order).limit(MAX_EXCHANGES)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(exchanges).where(*where)).scalar_one()
            return [parse_exchange(d) for d in conn.execute(q).scalars()], int(total)

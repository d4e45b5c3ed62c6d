"""WatchStore: ticks, costs, states, transitions and alerts, over the Store's engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.selectable import ScalarSelect

from parity.store import Store
from parity.store._tables import exchanges

from ._detect import State, Transition
from ._schedule import Cost
from ._tables import alerts, costs, jobs, sends, states, ticks, transitions

__all__ = ["AlertRow", "JobRow", "StateRow", "TickRecord", "WatchStore"]


class TickRecord(BaseModel):
    """One scheduled tick as stored: done (with its observations) or skipped (with why)."""

    schema_version: int = 1
    id: str
    endpoint: str
    stream: str
    index: int
    scheduled_at: datetime
    status: Literal["done", "skipped"]
    reason: str | None = Field(default=None, description="Why a tick was skipped; or, on a done tick, what it "
                               "changed (its endpoint's sentinel switched to black-box).")
    observations: list[float] = Field(default_factory=list, description="The detector's input, per prompt: "
                                      "g in [-1, 1], or with `controls` > 1 rank e-values in [0, K + 1].")
    controls: int = Field(default=1, description="Reference controls per candidate request the tick was "
                          "observed with (1: g; K > 1: rank e-values, the e-value detector).")
    statistic: float | None = None
    state: State | None = None
    alarm: float | None = Field(default=None, description="The alarm level the tick was judged by.")
    warn: float | None = Field(default=None, description="The suspect level the tick was judged by.")
    exchange_keys: list[str] = Field(default_factory=list)
    costs: dict[str, tuple[int, int]] = Field(default_factory=dict,
                                              description="endpoint -> (requests, tokens) of this tick.")
    logprobs_missing: str | None = Field(
        default=None, description="Set from the tick that found the endpoint answering without logprobs "
                                  "on: why, and the black-box sentinel it has been watched by since.")
    logprobs_asked: int | None = Field(
        default=None, description="While `logprobs_missing` is set: the index of the endpoint's latest tick "
                                  "that asked it for logprobs (the switch, or the latest re-probe).")
    run_id: str | None = Field(default=None, description="A full suite's tick: the run it stored.")
    verdicts: dict[str, str] = Field(default_factory=dict,
                                     description="A full suite's tick: endpoint -> verdict of its run.")


class JobRow(BaseModel):
    """A job the scheduler published: one tick of one stream (see docs/watch.md)."""

    key: str
    endpoint: str
    stream: str
    tick_index: int
    scheduled_at: datetime
    scheduler: str
    published_at: datetime | None


class StateRow(BaseModel):
    endpoint: str
    stream: str
    state: State
    seq: int
    quiet: int
    tick_id: str
    statistic: float
    updated_at: datetime


class AlertRow(BaseModel):
    key: str
    status: str
    attempts: int
    last_error: str | None
    body: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def tick_latency(tick_id: str, endpoint: str) -> ScalarSelect[Any]:
    """The mean latency of the endpoint's own ok exchanges of a tick, read in the tick's INSERT:
    they were stored (committed) before the tick is recorded. NULL when there are none."""
    return (select(func.avg(exchanges.c.latency_s))
            .where(exchanges.c.run_id == tick_id, exchanges.c.endpoint == endpoint,
                   exchanges.c.status == "ok").scalar_subquery())


def _utc(at: datetime | None) -> datetime | None:
    """SQLite hands timezone-aware columns back naive: they were stored in UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class WatchStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def has_tick(self, tick_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(ticks.c.id).where(ticks.c.id == tick_id)).first() is not None

    def record_tick(self, rec: TickRecord, state: StateRow | None = None,
                    transition: Transition | None = None, alert: dict[str, Any] | None = None) -> bool:
        """Store a tick with everything it decided, in one transaction; False if already stored."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ticks).values(
                    id=rec.id, endpoint=rec.endpoint, stream=rec.stream, scheduled_at=rec.scheduled_at,
                    status=rec.status, statistic=rec.statistic, state=rec.state, created_at=_now(),
                    data=rec.model_dump_json(), latency_s=tick_latency(rec.id, rec.endpoint)))
                day = rec.scheduled_at.astimezone(UTC).date().isoformat()
                for endpoint, (n, tokens) in rec.costs.items():
                    conn.execute(insert(costs).values(tick_id=rec.id, endpoint=endpoint, day=day,
                                                      requests=n, tokens=tokens))
                if state is not None:
                    self._put_state(conn, state)
                if transition is not None:
                    conn.execute(insert(transitions).values(
                        id=transition.id, endpoint=transition.endpoint, stream=transition.suite,
                        seq=transition.seq, to_state=transition.to_state, at=transition.at,
                        data=transition.model_dump_json()))
                    if alert is not None:
                        conn.execute(insert(alerts).values(
                            key=transition.id, status="pending", attempts=0, updated_at=_now(),
                            body=orjson.dumps(alert).decode()))
        except IntegrityError:
            return False
        return True

    @staticmethod
    def _put_state(conn: Any, s: StateRow) -> None:
        key = (states.c.endpoint == s.endpoint) & (states.c.stream == s.stream)
        values = s.model_dump(exclude={"endpoint", "stream"})
        if conn.execute(update(states).where(key).values(**values)).rowcount == 0:
            conn.execute(insert(states).values(**s.model_dump()))

    def spent(self, endpoint: str, day: date) -> Cost:
        q = select(func.coalesce(func.sum(costs.c.requests), 0), func.coalesce(func.sum(costs.c.tokens), 0)
                   ).where(costs.c.endpoint == endpoint, costs.c.day == day.isoformat())
        with self.engine.connect() as conn:
            n, tokens = conn.execute(q).one()
        return Cost(int(n), int(tokens))

    def ticks(self, endpoint: str | None = None, stream: str | None = None, *,
              since: datetime | None = None, status: str | None = None,
              last: int | None = None) -> list[TickRecord]:
        """Ticks in scheduled order; ``last``: only the newest ``last`` of them."""
        q = select(ticks.c.data)
        for col, value in ((ticks.c.endpoint, endpoint), (ticks.c.stream, stream), (ticks.c.status, status)):
            if value is not None:
                q = q.where(col == value)
        if since is not None:
            q = q.where(ticks.c.scheduled_at >= since)
        if last is not None:
            q = q.order_by(ticks.c.scheduled_at.desc()).limit(last)
        else:
            q = q.order_by(ticks.c.scheduled_at)
        with self.engine.connect() as conn:
            out = [TickRecord.model_validate_json(d) for (d,) in conn.execute(q)]
        return out[::-1] if last is not None else out

    def state(self, endpoint: str, stream: str) -> StateRow | None:
        q = select(states).where(states.c.endpoint == endpoint, states.c.stream == stream)
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return StateRow.model_validate(dict(row)) if row else None

    def states(self) -> list[StateRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(states).order_by(states.c.endpoint, states.c.stream)).mappings()
            return [StateRow.model_validate(dict(r)) for r in rows]

    def states_since(self) -> list[tuple[StateRow, datetime | None]]:
        """Every state with the time of the transition into it (None: it never moved).

        One query (states joined with their latest transition), for readers that poll
        often, such as the gateway's ':verified' admission.
        """
        t = transitions
        q = (select(states, t.c.at).select_from(states.outerjoin(
            t, (t.c.endpoint == states.c.endpoint) & (t.c.stream == states.c.stream) & (t.c.seq == states.c.seq)))
             .order_by(states.c.endpoint, states.c.stream))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [(StateRow.model_validate({k: r[k] for k in StateRow.model_fields}), _utc(r["at"])) for r in rows]

    def transitions(self, endpoint: str | None = None) -> list[Transition]:
        q = select(transitions.c.data).order_by(transitions.c.at, transitions.c.seq)
        if endpoint is not None:
            q = q.where(transitions.c.endpoint == endpoint)
        with self.engine.connect() as conn:
            return [Transition.model_validate_json(d) for (d,) in conn.execute(q)]

    # alerts -------------------------------------------------------------
    def alerts(self, statuses: Sequence[str] | None = None) -> list[AlertRow]:
        q = select(alerts).order_by(alerts.c.updated_at, alerts.c.key)
        if statuses is not None:
            q = q.where(alerts.c.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [AlertRow(key=r["key"], status=r["status"], attempts=r["attempts"],
                         last_error=r["last_error"], body=orjson.loads(r["body"])) for r in rows]

    def mark_alert(self, key: str, status: str, attempts: int, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(alerts).where(alerts.c.key == key).values(
                status=status, attempts=attempts, last_error=error[:512] if error else None,
                updated_at=_now()))

    def claim_alert(self, key: str, attempts: int) -> bool:
        """Mark a pending alert ``sending`` before a POST; False if another sender has it."""
        with self.engine.begin() as conn:
            n = conn.execute(update(alerts).where(
                alerts.c.key == key, alerts.c.status == "pending", alerts.c.attempts == attempts,
            ).values(status="sending", attempts=attempts + 1, updated_at=_now())).rowcount
        return bool(n)

    # the send journal and jobs -----------------------------------------
    def claim_send(self, key: str) -> bool:
        """Record that the request ``key`` is about to be sent; False if it was recorded before."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sends).values(key=key, created_at=_now()))
        except IntegrityError:
            return False
        return True

    def add_job(self, key: str, endpoint: str, stream: str, index: int, at: datetime,
                scheduler: str) -> bool:
        """Record a job (a tick about to run or be published); False if it was recorded before."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(jobs).values(key=key, endpoint=endpoint, stream=stream, tick_index=index,
                                                 scheduled_at=at, scheduler=scheduler, created_at=_now()))
        except IntegrityError:
            return False
        return True

    def jobs(self, *, unpublished: bool = False) -> list[JobRow]:
        q = select(jobs).order_by(jobs.c.scheduled_at, jobs.c.key)
        if unpublished:
            q = q.where(jobs.c.published_at.is_(None))
        with self.engine.connect() as conn:
            return [JobRow.model_validate(dict(r)) for r in conn.execute(q).mappings()]

    def pending_jobs(self, since: datetime | None = None) -> list[JobRow]:
        """Jobs scheduled (at or after ``since``) whose tick is not stored yet."""
        q = (select(jobs).where(~select(ticks.c.id).where(ticks.c.id == jobs.c.key).exists())
             .order_by(jobs.c.scheduled_at))
        if since is not None:
            q = q.where(jobs.c.scheduled_at >= since)
        with self.engine.connect() as conn:
            return [JobRow.model_validate(dict(r)) for r in conn.execute(q).mappings()]

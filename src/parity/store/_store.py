"""The Store: runs, exchanges and verdicts in SQLite (default) or PostgreSQL.

Each Exchange is written in its own transaction the moment it completes, so a
run killed at any instant loses at most the requests still in flight.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from parity.exchange import Exchange
from parity.verdict import Verdict

from ._schema import migrate
from ._tables import SCHEMA_VERSION, exchanges, runs, verdicts
from ._writer import ExchangeWriter

if TYPE_CHECKING:
    from ._async import AsyncStore


class RunRecord(BaseModel):
    """A run as stored: what was asked for, so any verdict can be traced and reproduced."""

    id: str
    schema_version: int = SCHEMA_VERSION
    fingerprint: str
    status: str
    created_at: datetime
    finished_at: datetime | None = None
    parity_version: str
    seed: int
    reference: str
    suites: list[str]
    datasets: dict[str, str]
    config: dict[str, Any]


def normalise_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` URLs; pick the psycopg 3 driver."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


_INSERT_EXCHANGE = insert(exchanges)


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The store, synchronous: for the CLI and reports. Async callers use :attr:`aio`.

    Opening migrates the schema to this code's version (or refuses a newer store:
    :class:`~parity.store.StoreVersionError`).
    """

    def __init__(self, url: str, *, redact: Callable[[str], str] | None = None) -> None:
        self.url = normalise_url(url)
        self._redact = redact
        self.engine: Engine = create_engine(self.url, **_engine_options(self.url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            migrate(self.engine, where=self.describe())
        except BaseException:
            self.engine.dispose()
            raise
        self._writer: ExchangeWriter | None = None
        self._aio: AsyncStore | None = None

    @property
    def aio(self) -> AsyncStore:
        """The same store for async callers: nothing it does blocks the event loop."""
        if self._aio is None:
            from ._async import AsyncStore

            self._aio = AsyncStore(self)
        return self._aio

    def writer(self) -> ExchangeWriter:
        """The group-commit writer thread (started on first use)."""
        if self._writer is None:
            self._writer = ExchangeWriter(self.engine)
        return self._writer

    def close(self) -> None:
        """Write what is queued, then release every connection."""
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()

    # runs ---------------------------------------------------------------
    def create_run(
        self,
        *,
        fingerprint: str,
        parity_version: str,
        seed: int,
        reference: str,
        suites: list[str],
        datasets: dict[str, str],
        config: dict[str, Any],
    ) -> RunRecord:
        record = RunRecord(
            id=f"run-{_now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
            fingerprint=fingerprint,
            status="running",
            created_at=_now(),
            parity_version=parity_version,
            seed=seed,
            reference=reference,
            suites=suites,
            datasets=datasets,
            config=config,
        )
        row = record.model_dump(exclude={"suites", "datasets", "config"})
        row.update(
            suites=orjson.dumps(suites).decode(),
            datasets=orjson.dumps(datasets).decode(),
            config=self._text(orjson.dumps(config).decode()),
        )
        with self.engine.begin() as conn:
            conn.execute(insert(runs).values(**row))
        return record

    def get_run(self, run_id: str) -> RunRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise KeyError(f"no run {run_id!r} in {self.describe()}")
        return _run(row)

    def find_unfinished(self, fingerprint: str) -> RunRecord | None:
        """The newest unfinished run with this fingerprint: the one to resume."""
        q = (
            select(runs)
            .where(runs.c.fingerprint == fingerprint, runs.c.status == "running")
            .order_by(runs.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return _run(row) if row else None

    def find_latest(self, fingerprint: str) -> RunRecord | None:
        """The newest run with this fingerprint, finished or not."""
        q = select(runs).where(runs.c.fingerprint == fingerprint).order_by(runs.c.created_at.desc())
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return _run(row) if row else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.created_at.desc()).limit(limit)).mappings()
            return [_run(r) for r in rows]

    def finish_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(status="complete", finished_at=_now()))

    # exchanges ----------------------------------------------------------
    def add_exchange(self, ex: Exchange) -> bool:
        """Store one exchange; False if that key was already stored (kept as it was)."""
        try:
            with self.engine.begin() as conn:
                # One prepared INSERT with bound parameters: .values(**row) would build
                # and cache-key a new statement per exchange (most of the cost).
                conn.execute(_INSERT_EXCHANGE, self.exchange_row(ex))
        except IntegrityError:
            return False
        return True

    def exchange_row(self, ex: Exchange) -> dict[str, Any]:
        """The row an exchange is stored as (its JSON redacted, without the parsed completion)."""
        return {
            "run_id": ex.run_id,
            "endpoint": ex.endpoint,
            "suite": ex.suite,
            "case_hash": ex.case_hash,
            "repeat": ex.repeat,
            "case_id": ex.case_id,
            "status": ex.status.value,
            "created_at": _now(),
            "data": self._text(ex.model_dump_json(exclude={"completion"})),
            "latency_s": ex.latency_s,
        }

    def exchanges(
        self, run_id: str, *, endpoint: str | None = None, suite: str | None = None
    ) -> list[Exchange]:
        q = select(exchanges.c.data).where(exchanges.c.run_id == run_id)
        if endpoint is not None:
            q = q.where(exchanges.c.endpoint == endpoint)
        if suite is not None:
            q = q.where(exchanges.c.suite == suite)
        with self.engine.connect() as conn:
            return [_exchange(d) for (d,) in conn.execute(q.order_by(exchanges.c.id))]

    def count_exchanges(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).where(exchanges.c.run_id == run_id)).scalar_one()
        return int(n)

    # verdicts -----------------------------------------------------------
    def save_verdicts(self, run_id: str, items: Iterable[Verdict]) -> None:
        with self.engine.begin() as conn:
            for v in items:
                conn.execute(
                    delete(verdicts).where(
                        verdicts.c.run_id == run_id,
                        verdicts.c.endpoint == v.endpoint,
                        verdicts.c.suite == v.suite,
                    )
                )
                conn.execute(
                    insert(verdicts).values(
                        run_id=run_id,
                        endpoint=v.endpoint,
                        suite=v.suite,
                        verdict=v.verdict.value,
                        created_at=_now(),
                        data=self._text(v.model_dump_json()),
                    )
                )

    def verdicts(self, run_id: str) -> list[Verdict]:
        q = select(verdicts.c.data).where(verdicts.c.run_id == run_id).order_by(verdicts.c.id)
        with self.engine.connect() as conn:
            return [Verdict.model_validate_json(d) for (d,) in conn.execute(q)]

    def latest_verdicts(self, endpoint: str) -> list[Verdict]:
        """The newest verdict per suite for an endpoint name, across runs."""
        q = select(verdicts.c.suite, verdicts.c.data).where(verdicts.c.endpoint == endpoint)
        latest: dict[str, Verdict] = {}
        with self.engine.connect() as conn:
            for suite, data in conn.execute(q.order_by(verdicts.c.created_at, verdicts.c.id)):
                latest[suite] = Verdict.model_validate_json(data)
        return list(latest.values())

    def describe(self) -> str:
        """The store's URL without credentials, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def _text(self, text: str) -> str:
        return self._redact(text) if self._redact else text


def _exchange(data: str) -> Exchange:
    ex = Exchange.model_validate_json(data)
    if ex.status.value == "ok" and ex.response is not None:
        from parity.client import parse_completion

        ex.completion = parse_completion(ex.response)
    return ex


def _run(row: Any) -> RunRecord:
    d = dict(row)
    d["suites"] = orjson.loads(d["suites"])
    d["datasets"] = orjson.loads(d["datasets"])
    d["config"] = orjson.loads(d["config"])
    return RunRecord.model_validate(d)


def _engine_options(url: str) -> dict[str, Any]:
    # An in-memory SQLite database exists once per connection: the writer thread and the
    # worker threads must all share the one connection, or each would see an empty store.
    if url.startswith("sqlite") and (url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url):
        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    return {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL + NORMAL: a committed exchange survives a process kill (not a power cut),
    # and a commit costs no fsync, which is what makes one-transaction-per-exchange cheap.
    cur.execute("PRAGMA busy_timeout=10000")  # first: the pragmas below may wait for a lock
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()

"""Schema migrations on open: empty, pre-migration (legacy), schema-2, current and newer stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    insert,
    text,
)

from parity.exchange import ExchangeStatus
from parity.store import SCHEMA_VERSION, Store, StoreVersionError, current_version, normalise_url
from parity.store._schema import _config, head_revision, version_of
from parity.store._tables import metadata

# The store's tables exactly as parity wrote them before migrations existed (metadata.create_all,
# no alembic_version table): copied here so the fixture stays what it was when _tables changes.
legacy = MetaData()
legacy_runs = Table(
    "parity_runs", legacy,
    Column("id", String(40), primary_key=True),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("parity_version", String(32), nullable=False),
    Column("schema_version", Integer, nullable=False, default=1),
    Column("seed", Integer, nullable=False),
    Column("reference", String(128), nullable=False),
    Column("suites", Text, nullable=False),
    Column("datasets", Text, nullable=False),
    Column("config", Text, nullable=False),
)
legacy_exchanges = Table(
    "parity_exchanges", legacy,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("endpoint", String(128), nullable=False),
    Column("suite", String(64), nullable=False),
    Column("case_hash", String(64), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("case_id", String(256), nullable=False),
    Column("status", String(24), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("run_id", "endpoint", "suite", "case_hash", "repeat", name="uq_exchange_key"),
)
legacy_verdicts = Table(
    "parity_verdicts", legacy,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False, index=True),
    Column("endpoint", String(128), nullable=False, index=True),
    Column("suite", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("run_id", "endpoint", "suite", name="uq_verdict_key"),
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EXCHANGE_JSON = (
    '{"schema_version":1,"run_id":"run-old","endpoint":"ep","suite":"toolcall","case_id":"c1",'
    '"case_hash":"h1","repeat":0,"status":"ok","request":{"messages":[]},"response":{"choices":'
    '[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}}'
)


def write_legacy_store(url: str) -> None:
    engine = create_engine(normalise_url(url))
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(legacy_runs).values(
            id="run-old", fingerprint="f" * 64, status="complete", created_at=NOW, finished_at=NOW,
            parity_version="0.1.0", seed=7, reference="ref", suites='["toolcall"]',
            datasets='{"toolcall":"abc"}', config='{"endpoints":[]}'))
        conn.execute(insert(legacy_exchanges).values(
            run_id="run-old", endpoint="ep", suite="toolcall", case_hash="h1", repeat=0, case_id="c1",
            status="ok", created_at=NOW, data=EXCHANGE_JSON))
    engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev


def test_an_empty_database_is_created_at_the_current_version(store_url: str) -> None:
    s = Store(store_url)
    assert current_version(s.engine) == SCHEMA_VERSION
    s.close()
    Store(store_url).close()  # opening again is a no-op
    assert revision(store_url) == f"{SCHEMA_VERSION:04d}"


def test_a_store_written_before_migrations_opens_and_keeps_its_data(store_url: str) -> None:
    write_legacy_store(store_url)
    assert revision(store_url) is None
    s = Store(store_url)
    assert current_version(s.engine) == SCHEMA_VERSION
    run = s.get_run("run-old")
    assert (run.schema_version, run.seed, run.datasets) == (1, 7, {"toolcall": "abc"})
    (ex,) = s.exchanges("run-old")
    assert ex.status is ExchangeStatus.OK and ex.completion is not None and ex.completion.content == "hi"
    s.close()


def test_a_store_from_a_newer_parity_is_refused_naming_both_versions(store_url: str) -> None:
    Store(store_url).close()
    engine = create_engine(normalise_url(store_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    engine.dispose()
    with pytest.raises(StoreVersionError,
                       match=f"has schema version 42, newer than this parity's schema version {SCHEMA_VERSION}"):
        Store(store_url)
    assert revision(store_url) == "0042"  # left as it was


def test_a_foreign_table_of_the_same_name_is_refused(store_url: str) -> None:
    engine = create_engine(normalise_url(store_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parity_runs (id VARCHAR(40) PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreVersionError, match="not a store parity wrote"):
        Store(store_url)


def test_the_migrations_build_exactly_the_tables_the_code_declares(store_url: str) -> None:
    """A table or column added to _tables.py without a migration (or the reverse) fails here."""
    s = Store(store_url)
    with s.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    s.close()
    assert diff == []


def test_schema_version_is_the_newest_migration() -> None:
    assert version_of(head_revision()) == SCHEMA_VERSION


def write_v2_store(url: str) -> None:
    """A store as schema version 2 wrote it (migrations 0001 and 0002 only), with a sentinel tick:
    two answered exchanges of the tick's endpoint, a failed one, and one of the reference."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0002")
        for i, (endpoint, status, latency) in enumerate(
                [("ep", "ok", 1.25), ("ep", "ok", 0.75), ("ep", "error", 9.0), ("ref", "ok", 5.0)]):
            data = EXCHANGE_JSON.replace('"run_id":"run-old"', '"run_id":"tick-1"').replace(
                '"endpoint":"ep"', f'"endpoint":"{endpoint}"').replace(
                '"repeat":0', f'"repeat":0,"latency_s":{latency}')
            conn.execute(text(
                "INSERT INTO parity_exchanges (run_id, endpoint, suite, case_hash, repeat, case_id, status, "
                "created_at, data) VALUES ('tick-1', :e, 'sentinel', :h, 0, 'c', :s, :t, :d)"),
                {"e": endpoint, "h": f"h{i}", "s": status, "t": NOW, "d": data})
        conn.execute(text(
            "INSERT INTO parity_exchanges (run_id, endpoint, suite, case_hash, repeat, case_id, status, "
            "created_at, data) VALUES ('run-old', 'ep', 'toolcall', 'h9', 0, 'c', 'ok', :t, :d)"),
            {"t": NOW, "d": EXCHANGE_JSON})  # no latency in its JSON
        for tick, status in (("tick-1", "done"), ("tick-2", "skipped")):
            conn.execute(text(
                "INSERT INTO watch_ticks (id, endpoint, stream, scheduled_at, status, statistic, created_at, data) "
                "VALUES (:id, 'ep', 'sentinel', :t, :s, 1.5, :t, '{}')"), {"id": tick, "t": NOW, "s": status})
    engine.dispose()


def test_a_store_at_schema_2_migrates_and_backfills_the_latencies(store_url: str) -> None:
    write_v2_store(store_url)
    assert revision(store_url) == "0002"
    s = Store(store_url)
    assert current_version(s.engine) == SCHEMA_VERSION
    with s.engine.connect() as conn:
        ex: dict[str, float | None] = {h: x for h, x in conn.execute(text(
            "SELECT case_hash, latency_s FROM parity_exchanges"))}
        ticks: dict[str, float | None] = {i: x for i, x in conn.execute(text("SELECT id, latency_s FROM watch_ticks"))}
    s.close()
    assert ex == {"h0": 1.25, "h1": 0.75, "h2": 9.0, "h3": 5.0, "h9": None}
    # the tick's latency: its own endpoint's answered exchanges only (not the failed one, not the reference's)
    assert ticks == {"tick-1": 1.0, "tick-2": None}

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 4  # the newest migration (migrations/versions/000N_*.py)

metadata = MetaData()

runs = Table(
    "parity_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # running | complete
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("parity_version", String(32), nullable=False),
    Column("schema_version", Integer, nullable=False, default=SCHEMA_VERSION),
    Column("seed", Integer, nullable=False),
    Column("reference", String(128), nullable=False),
    Column("suites", Text, nullable=False),  # JSON list
    Column("datasets", Text, nullable=False),  # JSON {suite: dataset hash}
    Column("config", Text, nullable=False),  # JSON, secrets excluded
)

exchanges = Table(
    "parity_exchanges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("endpoint", String(128), nullable=False),
    Column("suite", String(64), nullable=False),
    Column("case_hash", String(64), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("case_id", String(256), nullable=False),
    Column("status", String(24), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),  # the Exchange as JSON
    Column("latency_s", Float),  # schema 3: Exchange.latency_s, also in data (for the dashboard's series)
    UniqueConstraint("run_id", "endpoint", "suite", "case_hash", "repeat", name="uq_exchange_key"),
)

verdicts = Table(
    "parity_verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False, index=True),
    Column("endpoint", String(128), nullable=False, index=True),
    Column("suite", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),  # the Verdict as JSON
    UniqueConstraint("run_id", "endpoint", "suite", name="uq_verdict_key"),
    Index("ix_parity_verdicts_latest", "endpoint", "suite", "id"),  # schema 3: newest per endpoint and suite
)


# The watch's history (schema version 2). Every row a tick writes goes in with the tick in
# one transaction: a watch killed at any instant has recorded a tick completely or not at all.
ticks = Table(
    "watch_ticks",
    metadata,
    Column("id", String(40), primary_key=True),  # Tick.id: hash of endpoint, stream, time
    Column("endpoint", String(128), nullable=False),
    Column("stream", String(64), nullable=False),  # "sentinel" or a suite name
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # done | skipped
    Column("statistic", Float),
    Column("state", String(16)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),  # TickRecord as JSON
    # schema 3: mean latency of the endpoint's own ok exchanges in the tick (computed on insert)
    Column("latency_s", Float),
    Index("ix_watch_ticks_key", "endpoint", "stream", "scheduled_at"),
    # schema 3: the dashboard's series and sparklines are answered from this index alone
    Index("ix_watch_ticks_series", "endpoint", "stream", "scheduled_at", "status", "statistic", "latency_s"),
)

costs = Table(
    "watch_costs",
    metadata,
    Column("tick_id", String(40), primary_key=True),
    Column("endpoint", String(128), primary_key=True),
    Column("day", String(10), nullable=False),  # UTC day, ISO
    Column("requests", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Index("ix_watch_costs_day", "endpoint", "day"),
)

states = Table(
    "watch_states",
    metadata,
    Column("endpoint", String(128), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("seq", Integer, nullable=False),  # transitions so far
    Column("quiet", Integer, nullable=False),  # ticks below warn since the last alarm
    Column("tick_id", String(40), nullable=False),
    Column("statistic", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

transitions = Table(
    "watch_transitions",
    metadata,
    Column("id", String(320), primary_key=True),  # '<endpoint>/<stream>/<seq>'
    Column("endpoint", String(128), nullable=False, index=True),
    Column("stream", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),  # Transition as JSON
)

alerts = Table(
    "watch_alerts",
    metadata,
    Column("key", String(320), primary_key=True),  # the transition id
    Column("status", String(16), nullable=False),  # pending|sending|delivered|undeliverable|unconfirmed|logged
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(512)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),  # the webhook's JSON body
)

jobs = Table(
    "watch_jobs",
    metadata,
    Column("key", String(40), primary_key=True),  # the tick id: (endpoint, stream, scheduled time)
    Column("endpoint", String(128), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("tick_index", BigInteger, nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("scheduler", String(128), nullable=False),  # who scheduled it (host:pid)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),  # null: stored, message not yet sent
    Index("ix_watch_jobs_scheduled", "scheduled_at"),
)

sends = Table(
    "watch_sends",
    metadata,
    Column("key", String(400), primary_key=True),  # run/endpoint/suite/case hash/repeat
    Column("created_at", DateTime(timezone=True), nullable=False),
)

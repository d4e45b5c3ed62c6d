from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 1

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
)

"""Schema version 1: runs, exchanges and verdicts (the store as it was before migrations).

Stores written before migrations existed have exactly these tables and no
``alembic_version`` table; the store recognises them and stamps them at 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parity_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("parity_version", sa.String(32), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("suites", sa.Text, nullable=False),
        sa.Column("datasets", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_index("ix_parity_runs_fingerprint", "parity_runs", ["fingerprint"])
    op.create_table(
        "parity_exchanges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("suite", sa.String(64), nullable=False),
        sa.Column("case_hash", sa.String(64), nullable=False),
        sa.Column("repeat", sa.Integer, nullable=False),
        sa.Column("case_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "endpoint", "suite", "case_hash", "repeat", name="uq_exchange_key"),
    )
    op.create_table(
        "parity_verdicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("suite", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "endpoint", "suite", name="uq_verdict_key"),
    )
    op.create_index("ix_parity_verdicts_run_id", "parity_verdicts", ["run_id"])
    op.create_index("ix_parity_verdicts_endpoint", "parity_verdicts", ["endpoint"])

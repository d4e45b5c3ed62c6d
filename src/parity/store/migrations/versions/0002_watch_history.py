"""Schema version 2: the watch's history (ticks, costs, states, transitions, alerts).

Only new tables: a store at version 1 keeps every run, exchange and verdict as
it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_ticks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("statistic", sa.Float),
        sa.Column("state", sa.String(16)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_watch_ticks_key", "watch_ticks", ["endpoint", "stream", "scheduled_at"])
    op.create_table(
        "watch_costs",
        sa.Column("tick_id", sa.String(40), primary_key=True),
        sa.Column("endpoint", sa.String(128), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
    )
    op.create_index("ix_watch_costs_day", "watch_costs", ["endpoint", "day"])
    op.create_table(
        "watch_states",
        sa.Column("endpoint", sa.String(128), primary_key=True),
        sa.Column("stream", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("quiet", sa.Integer, nullable=False),
        sa.Column("tick_id", sa.String(40), nullable=False),
        sa.Column("statistic", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "watch_transitions",
        sa.Column("id", sa.String(320), primary_key=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_watch_transitions_endpoint", "watch_transitions", ["endpoint"])
    op.create_table(
        "watch_alerts",
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(512)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )

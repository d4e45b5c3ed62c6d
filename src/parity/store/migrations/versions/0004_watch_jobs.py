"""Schema version 4: the watch at scale — scheduled jobs and the send journal.

``watch_jobs``: one row per scheduled job (a tick of a stream: the sentinel or a
full suite), written by the scheduler before it publishes the job's message.
``watch_sends``: one row per request the watch is about to send, written before
the request leaves, so a request whose answer was lost in a crash is never sent
again (see docs/watch.md, "Running at scale"). Only new tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_jobs",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("tick_index", sa.BigInteger, nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduler", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_watch_jobs_scheduled", "watch_jobs", ["scheduled_at"])
    op.create_table(
        "watch_sends",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

"""Placeholder for schema version 3, which the dashboard's branch (``dash``) adds.

It changes nothing; it exists so that 0004 (the watch's jobs and send journal)
has its parent on this branch. When both branches are merged, this file is
deleted and the dashboard's 0003 takes its place (same revision id).
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass

"""The watch's tables, on the store's MetaData (so one migration creates them all).

Every row a tick writes goes in with the tick in one transaction: a watch
killed at any instant has either recorded a tick completely or not at all.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text

from parity.store._tables import metadata

__all__ = ["alerts", "costs", "states", "ticks", "transitions"]

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
    Index("ix_watch_ticks_key", "endpoint", "stream", "scheduled_at"),
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
    Column("status", String(16), nullable=False),  # pending | delivered | undeliverable | logged
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(512)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),  # the webhook's JSON body
)

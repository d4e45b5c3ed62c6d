"""The watch's tables: declared with the store's (``parity.store._tables``), created by its
migration 0002 when a store is opened."""

from __future__ import annotations

from parity.store._tables import alerts, costs, jobs, sends, states, ticks, transitions

__all__ = ["alerts", "costs", "jobs", "sends", "states", "ticks", "transitions"]

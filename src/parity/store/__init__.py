"""Persistence: SQLAlchemy 2 over SQLite by default, PostgreSQL by URL."""

from ._store import RunRecord, Store, normalise_url
from ._tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "RunRecord", "Store", "normalise_url"]

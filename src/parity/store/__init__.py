"""Persistence: SQLAlchemy 2 over SQLite by default, PostgreSQL by URL; schema by migrations."""

from ._async import AsyncStore
from ._schema import StoreVersionError, current_version
from ._store import RunRecord, Store, normalise_url
from ._tables import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "AsyncStore",
    "RunRecord",
    "Store",
    "StoreVersionError",
    "current_version",
    "normalise_url",
]

"""Store fixtures: a fresh SQLite file, or a fresh schema of the real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose default schema is new and empty; dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(PG_ADMIN)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:
        pytest.fail(f"PostgreSQL is expected on 127.0.0.1:5432 (trust auth, database 'test'): {e}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a new store, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "p.db")
    return str(request.getfixturevalue("pg_url"))

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.store import Store

from .history import NOW, Shape, seed

SHAPE = Shape(models=2, per_model=3, days=12, tick_minutes=120)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dash") / "history.db"
    store = Store(str(path))
    seed(store, SHAPE)
    store.close()
    return path


@pytest.fixture()
def store(seeded_db: Path) -> Iterator[Store]:
    s = Store(str(seeded_db))
    yield s
    s.close()


@pytest.fixture()
def now() -> object:
    return NOW

"""The dashboard's queries on PostgreSQL (its own schema): buckets, JSON, tuple IN."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from parity.dashboard import create_dashboard
from parity.store import Store

from .history import NOW, Shape, seed

pytestmark = pytest.mark.postgres
SCHEMA = "parity_test_dashboard"
URL = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{SCHEMA}"


@pytest.fixture(scope="module")
def pg_store() -> Iterator[Store]:
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
    except psycopg.OperationalError:
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (trust auth, database 'test')")
    store = Store(URL)
    seed(store, Shape(models=1, per_model=3, days=12, tick_minutes=240, run_every_hours=48))
    yield store
    store.close()


def test_pages_on_postgres(pg_store: Store) -> None:
    c = TestClient(create_dashboard(pg_store, clock=lambda: NOW))
    overview = c.get("/?range=30d")
    assert overview.status_code == 200 and overview.text.count('class="endpoint-link"') == 3
    assert overview.text.count("<polyline") == 3
    page = c.get("/endpoints/m0-p1?range=30d")
    assert page.status_code == 200
    latency = re.search(r'id="chart-latency-0">(.*?)</script>', page.text)
    assert latency is not None
    assert any(y is not None for y in json.loads(latency.group(1))["series"][0]["y"])
    events = re.findall(r'href="(/evidence\?transition=[^"]+)"', page.text)
    assert events
    evidence = c.get(events[0].replace("&amp;", "&"))
    assert evidence.status_code == 200 and "details class=\"exchange\"" in evidence.text

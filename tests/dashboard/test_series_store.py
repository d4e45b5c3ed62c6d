"""The series the dashboard charts are what the real store wrote: latencies stored with each
exchange and each tick (schema 3), read back from the ticks' index."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path

from parity.dashboard._queries import Queries
from parity.exchange import ExchangeStatus
from parity.store import Store
from parity.watch import SENTINEL, TickRecord, WatchStore

from .history import NOW, _exchange


def test_a_tick_stores_the_mean_latency_of_its_own_answered_exchanges(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.db"))
    rng = random.Random(0)
    at = NOW - timedelta(hours=1)
    exs = []
    for i, (endpoint, latency, ok) in enumerate([("ep", 1.0, True), ("ep", 2.0, True), ("ep", 7.0, False),
                                                 ("ref", 9.0, True)]):
        x = _exchange("tick-1", endpoint, SENTINEL, i, at, rng, bad=False)
        x.latency_s = latency
        if not ok:
            x.status, x.response, x.error = ExchangeStatus.HTTP_ERROR, None, "HTTP 500"
        exs.append(x)
        assert store.add_exchange(x)
    ws = WatchStore(store)
    ws.record_tick(TickRecord(id="tick-1", endpoint="ep", stream=SENTINEL, index=0, scheduled_at=at,
                              status="done", observations=[0.1], statistic=2.0))
    ws.record_tick(TickRecord(id="tick-2", endpoint="ep", stream=SENTINEL, index=1,
                              scheduled_at=at + timedelta(minutes=1), status="skipped", reason="budget"))
    (bucket,) = Queries(store).tick_series("ep", NOW - timedelta(days=1), NOW, 86400)
    store.close()
    assert (bucket.done, bucket.skipped, bucket.top) == (1, 1, 2.0)
    # the failed request and the reference's answer are not the endpoint's latency
    assert (bucket.latency_n, bucket.latency_mean) == (1, 1.5)
    assert math.isclose(bucket.latency_mean_sq, 2.25)

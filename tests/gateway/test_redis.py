"""Two gateway app instances share an ejection through a real Redis on 127.0.0.1:6379.
(Redis killed, frozen and restarted: test_shared_state.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from parity.fake import FakeEndpoint, HttpError

from .conftest import make_config

redis_asyncio = pytest.importorskip("redis.asyncio")
pytestmark = pytest.mark.redis


async def _redis_or_skip() -> Any:
    r = redis_asyncio.Redis(host="127.0.0.1", port=6379)
    try:
        await r.ping()
    except Exception:
        await r.aclose()
        pytest.skip("no Redis on 127.0.0.1:6379")
    return r


async def test_two_instances_share_an_ejection(harness: Any) -> None:
    prefix = f"parity-test:{uuid.uuid4().hex}"
    cfg = make_config(["flaky", "ok"], alias={"policy": "price", "prices": {"flaky": 0}},
                      server={"redis_prefix": prefix, "shared_sync_s": 0})
    flaky = FakeEndpoint(lambda b: HttpError(500, "boom"))
    one = harness({"flaky": flaky, "ok": FakeEndpoint()}, cfg, redis=await _redis_or_skip())
    two = harness({"flaky": flaky, "ok": FakeEndpoint()}, cfg, redis=await _redis_or_skip())
    cleanup = await _redis_or_skip()
    try:
        for _ in range(3):  # instance one sees the burst and ejects
            assert (await one.chat()).status_code == 200
        assert not one.gw.ejector.admitted()["flaky"]
        await one.gw.sync()  # counts flush at each sync; the ejection itself was published at once
        seen = len(flaky.requests)
        r = await two.chat()  # instance two has seen no failure itself
        assert r.status_code == 200 and r.headers["x-parity-attempts"] == "1"
        assert len(flaky.requests) == seen
        assert (await two.client.get("/healthz")).json()["endpoints"]["flaky"] == "ejected"
        assert two.gw.cluster_counts["flaky"]["http_error"] == 3  # telemetry is shared as well
        # readmission by instance one clears the shared record; two follows on its next sync
        await one.gw.shared.clear_ejection("flaky")
        await two.gw.sync()
        assert two.gw.ejector.admitted()["flaky"]
        assert one.total() == 3 and two.total() == 1
    finally:
        keys = [k async for k in cleanup.scan_iter(match=f"{prefix}:*")]
        if keys:
            await cleanup.delete(*keys)
        await cleanup.aclose()

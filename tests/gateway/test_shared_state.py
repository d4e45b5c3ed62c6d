"""Shared state is never a dependency: a redis-server of the test's own is killed, frozen and
restarted under load (the fault matrix), and the link to it is bounded and never raises."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from parity.fake import Answer, FakeEndpoint, HttpError, free_port
from parity.gateway._shared import MemoryState, SharedLink

from .conftest import make_config

redis_asyncio = pytest.importorskip("redis.asyncio")


# -- the fault matrix: a real redis-server of the test's own, killed, frozen and restarted ------

class OwnRedis:
    """``redis-server`` on a free 127.0.0.1 port, no persistence: a restart loses everything."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def wait_ready(self) -> None:
        r = redis_asyncio.Redis(host="127.0.0.1", port=self.port)
        try:
            for _ in range(200):
                try:
                    await r.ping()
                    return
                except Exception:
                    await asyncio.sleep(0.05)
            raise RuntimeError("redis-server did not start")
        finally:
            await r.aclose()

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    r = OwnRedis()
    r.start()
    try:
        yield r
    finally:
        r.stop()


async def _load(h: Any, n: int) -> list[int]:
    """n concurrent client requests; a hang guard (not a threshold): nothing may wait on Redis."""
    async with asyncio.timeout(120):
        rs = await asyncio.gather(*(h.chat() for _ in range(n)))
    return [r.status_code for r in rs]


async def _settle(*hs: Any) -> None:
    for h in hs:
        await h.gw.sync()


@pytest.mark.timeout(300)
async def test_fault_matrix_redis_killed_frozen_restarted(harness: Any, own_redis: OwnRedis) -> None:
    await own_redis.wait_ready()
    cfg = make_config(["flaky", "ok"], alias={"policy": "price", "prices": {"flaky": 0}},
                      server={"shared_sync_s": 0}, ejection={"probation_s": 3600})
    broken = False
    flaky = FakeEndpoint(lambda b: HttpError(500, "boom") if broken else Answer())

    def client() -> Any:
        return redis_asyncio.Redis(host="127.0.0.1", port=own_redis.port,
                                   socket_timeout=0.5, socket_connect_timeout=0.5)

    one = harness({"flaky": flaky, "ok": FakeEndpoint()}, cfg, redis=client())
    two = harness({"flaky": FakeEndpoint(), "ok": FakeEndpoint()}, cfg, redis=client())
    statuses: list[int] = []
    statuses += await _load(one, 5) + await _load(two, 5)
    await _settle(one, two)

    # 1. Redis killed: one sees its cheapest endpoint fail and ejects it, alone
    own_redis.signal(signal.SIGKILL)
    own_redis.proc.wait(timeout=10)  # type: ignore[union-attr]
    broken = True
    statuses += await _load(one, 20) + await _load(two, 20)
    assert [s for s in statuses if s >= 500] == []  # not one request failed because of Redis
    assert not one.gw.ejector.admitted()["flaky"]  # honoured locally without Redis
    seen = len(flaky.requests)
    statuses += await _load(one, 10)
    assert len(flaky.requests) == seen
    assert one.metric("parity_gateway_shared_state_up") == 0
    assert one.metric("parity_gateway_shared_state_errors_total", operation="sync") > 0
    assert two.gw.ejector.admitted()["flaky"]  # two cannot know yet

    # 2. restarted, empty: one republishes its ejection and resends the counts it kept
    own_redis.start()
    await own_redis.wait_ready()
    await _settle(one, two)
    await _settle(one, two)
    assert one.metric("parity_gateway_shared_state_up") == 1 == two.metric("parity_gateway_shared_state_up")
    assert not two.gw.ejector.admitted()["flaky"]
    assert two.gw.cluster_counts["flaky"]["http_error"] >= 3  # failures counted during the outage
    # what one served during the outage (all by "ok") was kept and sent; what came before was lost
    assert two.gw.cluster_counts["ok"]["ok"] == 30

    # 3. Redis frozen: nothing waits on it, nothing fails; resynchronised when it thaws
    own_redis.signal(signal.SIGSTOP)
    statuses += await _load(one, 20) + await _load(two, 20)
    await _settle(one, two)
    assert one.metric("parity_gateway_shared_state_up") == 0 == two.metric("parity_gateway_shared_state_up")
    own_redis.signal(signal.SIGCONT)
    await _settle(one, two)
    await _settle(one, two)
    assert one.metric("parity_gateway_shared_state_up") == 1 == two.metric("parity_gateway_shared_state_up")
    # at least once: a command sent just before the freeze may run when Redis thaws and be resent
    assert two.gw.cluster_counts["ok"]["ok"] >= 70

    assert len(statuses) == 100 and [s for s in statuses if s >= 500] == []


class Broken(MemoryState):
    """Shared state that fails (or hangs) on every call until ``healthy`` is set."""

    def __init__(self, hang: bool = False) -> None:
        super().__init__()
        self.healthy = False
        self.hang = hang

    async def _gate(self) -> None:
        if not self.healthy:
            if self.hang:
                await asyncio.Event().wait()
            raise ConnectionError("refused")

    async def publish_ejection(self, endpoint: str, until: float, reason: str, now: float) -> None:
        await self._gate()
        await super().publish_ejection(endpoint, until, reason, now)

    async def add_counts(self, counts: dict[str, Counter[str]]) -> None:
        await self._gate()
        await super().add_counts(counts)

    async def lost(self, token: str) -> bool:
        await self._gate()
        return False


@pytest.mark.parametrize("hang", [False, True])
async def test_the_link_keeps_everything_while_down_and_sends_it_when_back(hang: bool) -> None:
    state = Broken(hang=hang)
    link = SharedLink(state, ["a", "b"], CollectorRegistry(), timeout_s=0.05)
    await link.publish("a", 100.0, "error_rate", 1.0)  # never raises, whatever the state does
    assert not link.up
    assert await link.sync({"a": Counter(ok=3), "b": Counter(http_error=1)}, 2.0) is None
    assert await link.sync({"a": Counter(ok=2)}, 3.0) is None
    await link.publish("b", 100.0, "error_rate", 3.0)  # while down: noted, nothing awaited
    state.healthy = True
    got = await link.sync({}, 4.0)
    assert got is not None and link.up
    counts, ejections = got
    assert counts == {"a": {"ok": 5}, "b": {"http_error": 1}}  # kept across failed syncs, sent once
    assert set(ejections) == {"a", "b"}  # both ejections decided while down were published

"""':verified' follows the watch: states read from the store (and Redis), headers, staleness, metrics."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parity.config import ConfigError
from parity.fake import FakeEndpoint
from parity.store import Store
from parity.verdict import Outcome, Verdict
from parity.watch import State, StateRow, TickRecord, Transition, WatchStore

from .conftest import make_config

T0 = 1_800_000_000.0  # the gateway's clock in these tests (epoch seconds)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Ticks:
    """Writes watch ticks as the watch does (WatchStore.record_tick): state row + transition."""

    def __init__(self, store: Store) -> None:
        self.ws = WatchStore(store)
        self.n = 0
        self.seq: dict[str, int] = {}
        self.state: dict[str, State] = {}

    def tick(self, endpoint: str, state: State, at: float = T0, stat: float = 1.0,
             stream: str = "sentinel") -> None:
        self.n += 1
        when = datetime.fromtimestamp(at, UTC)
        tid = f"w-{self.n:032d}"
        prev = self.state.get(endpoint, State.HEALTHY)
        tr = None
        if state is not prev:
            self.seq[endpoint] = self.seq.get(endpoint, 0) + 1
            tr = Transition(id=f"{endpoint}/{stream}/{self.seq[endpoint]}", endpoint=endpoint, suite=stream,
                            seq=self.seq[endpoint], from_state=prev, to_state=state, at=when, tick_id=tid,
                            statistic=stat, threshold=20.0, alarm=20.0, warn=4.0, evidence_ticks=[tid],
                            exchange_keys=[])
        self.state[endpoint] = state
        rec = TickRecord(id=tid, endpoint=endpoint, stream=stream, index=self.n, scheduled_at=when,
                         status="done", statistic=stat, state=state)
        row = StateRow(endpoint=endpoint, stream=stream, state=state, seq=self.seq.get(endpoint, 0), quiet=0,
                       tick_id=tid, statistic=stat, updated_at=when)
        assert self.ws.record_tick(rec, row, tr)


def _cfg(names: list[str], **watch: Any) -> Any:
    return make_config(names, watch={"enabled": True, "refresh_s": 0.01, **watch})


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(str(tmp_path / "w.db"))
    yield s
    s.close()


async def test_only_healthy_endpoints_serve_verified_and_the_headers_say_why(harness: Any, store: Store) -> None:
    t = Ticks(store)
    t.tick("good", State.HEALTHY)
    t.tick("sus", State.SUSPECT, stat=5.0)
    t.tick("rec", State.CHANGED, at=T0 - 60, stat=30.0)
    t.tick("rec", State.RECOVERING)
    t.tick("bad", State.CHANGED, stat=25.0)
    names = ["good", "sus", "rec", "bad", "unwatched"]
    store.save_verdicts("run-1", [Verdict(endpoint=n, suite="toolcall", verdict=Outcome.PASS, test="t",
                                          alpha=0.05, requests=10) for n in ("good", "bad", "unwatched")])
    h = harness({n: FakeEndpoint() for n in names}, _cfg(names), store=store, clock=Clock(T0 + 30))
    for _ in range(8):
        r = await h.chat(model="m:verified")
        assert r.headers["x-parity-endpoint"] in {"good", "unwatched"}  # unwatched: its verdicts decide
    r = await h.chat(model="m:verified", headers={"x-parity-ignore": "unwatched"})
    assert r.headers["x-parity-verdict"] == \
        "toolcall=pass, watch=healthy (since -; last tick 30s ago)"  # never moved: no 'since'
    out = json.loads(r.headers["x-parity-excluded"])
    assert out["bad"].startswith("latest verdict") is False
    assert out["bad"] == "watch changed since 2027-01-15T08:00:00Z (sentinel, e-CUSUM 25)"
    assert out["sus"].startswith("watch suspect since") and out["rec"].startswith("watch recovering since")
    served = {(await h.chat()).headers["x-parity-endpoint"] for _ in range(40)}
    assert served == set(names)  # the plain alias ignores the watch
    assert h.metric("parity_gateway_watch_state", endpoint="bad", state="changed") == 1
    assert h.metric("parity_gateway_watch_state", endpoint="bad", state="healthy") == 0
    assert h.metric("parity_gateway_watch_admitted", endpoint="good") == 1
    assert h.metric("parity_gateway_watch_admitted", endpoint="rec") == 0
    text = (await h.client.get("/metrics")).text
    assert 'parity_gateway_watch_state{endpoint="sus",state="suspect"} 1.0' in text


async def test_admit_may_take_suspect_and_recovering_never_changed(harness: Any, store: Store) -> None:
    t = Ticks(store)
    for n, s in (("sus", State.SUSPECT), ("rec", State.RECOVERING), ("bad", State.CHANGED)):
        t.tick(n, s)
    names = ["sus", "rec", "bad"]
    h = harness({n: FakeEndpoint() for n in names}, _cfg(names, admit=["healthy", "suspect", "recovering"]),
                store=store, clock=Clock())
    served = {(await h.chat(model="m:verified")).headers["x-parity-endpoint"] for _ in range(30)}
    assert served == {"sus", "rec"}
    for bad in (["healthy", "changed"], ["suspect"], ["healthy", "sick"]):
        with pytest.raises(ConfigError, match=r"watch\.admit"):
            _cfg(names, admit=bad)


async def test_a_change_takes_it_out_within_one_refresh_and_healthy_brings_it_back(
        harness: Any, store: Store) -> None:
    t = Ticks(store)
    t.tick("a", State.HEALTHY)
    t.tick("b", State.HEALTHY)
    clock = Clock()
    h = harness({"a": FakeEndpoint(), "b": FakeEndpoint()}, _cfg(["a", "b"]), store=store, clock=clock)

    async def served() -> set[str]:
        return {(await h.chat(model="m:verified")).headers["x-parity-endpoint"] for _ in range(12)}

    async def until(want: set[str]) -> None:
        for _ in range(500):  # polls the refresh loop (refresh_s 0.01); no time threshold is asserted
            if await served() == want:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never served only {want}")

    assert await served() == {"a", "b"}
    t.tick("a", State.CHANGED, at=T0 + 5, stat=40.0)
    await until({"b"})
    t.tick("a", State.RECOVERING, at=T0 + 10)
    await asyncio.sleep(0.1)
    assert await served() == {"b"}  # recovering is not yet back
    t.tick("a", State.HEALTHY, at=T0 + 15)
    await until({"a", "b"})
    r = await h.chat(model="m:verified", headers={"x-parity-ignore": "b"})
    assert "watch=healthy (since 2027-01-15T08:00:15Z" in r.headers["x-parity-verdict"]


async def test_stale_states_leave_verified_or_keep_as_configured(harness: Any, store: Store) -> None:
    t = Ticks(store)
    t.tick("a", State.HEALTHY)
    t.tick("b", State.HEALTHY, at=T0 + 1000)
    clock = Clock(T0 + 1000)
    h = harness({"a": FakeEndpoint(), "b": FakeEndpoint()}, _cfg(["a", "b"], stale_after_s=600), store=store,
                clock=clock)
    r = await h.chat(model="m:verified")
    assert r.headers["x-parity-endpoint"] == "b"
    assert json.loads(r.headers["x-parity-excluded"])["a"] == \
        "watch stale: no tick for 1000s (> 600s); last state healthy"
    assert h.metric("parity_gateway_watch_stale", endpoint="a") == 1
    assert h.metric("parity_gateway_watch_last_tick_age_seconds", endpoint="a") == 1000
    assert h.metric("parity_gateway_watch_stale", endpoint="b") == 0
    keep = harness({"a": FakeEndpoint()}, _cfg(["a"], stale_after_s=600, on_stale="keep"), store=store,
                   clock=clock)
    r = await keep.chat(model="m:verified")
    assert r.status_code == 200 and r.headers["x-parity-verdict"].endswith("last tick 1000s ago; stale)")


async def test_required_watch_needs_a_state_and_the_reference_stream_counts(harness: Any, store: Store) -> None:
    t = Ticks(store)
    t.tick("ref", State.HEALTHY, stream="sentinel-reference")
    names = ["ref", "new"]
    cfg = make_config(names, alias={"required_suites": ["watch"]}, watch={"enabled": True})
    h = harness({n: FakeEndpoint() for n in names}, cfg, store=store, clock=Clock())
    r = await h.chat(model="m:verified")
    assert r.headers["x-parity-endpoint"] == "ref"
    assert json.loads(r.headers["x-parity-excluded"]) == {"new": "no watch state on record"}
    t.tick("ref", State.CHANGED, stat=99.0, stream="sentinel-reference")
    h.gw.verdicts.watch.load()
    r = await h.chat(model="m:verified")
    assert r.status_code == 503
    assert "watch changed since" in r.json()["error"]["parity"]["endpoints"]["ref"]


async def test_disabled_watch_changes_nothing(harness: Any, store: Store) -> None:
    Ticks(store).tick("a", State.CHANGED)
    h = harness({"a": FakeEndpoint()}, make_config(["a"]), store=store)
    r = await h.chat(model="m:verified")
    assert r.status_code == 503
    assert r.json()["error"]["parity"]["endpoints"]["a"] == "no verdict on record"
    assert "parity_gateway_watch_state" not in (await h.client.get("/metrics")).text


redis_asyncio = pytest.importorskip("redis.asyncio")


@pytest.mark.redis
async def test_a_gateway_without_the_store_follows_the_watch_through_redis(harness: Any, store: Store) -> None:
    r = redis_asyncio.Redis(host="127.0.0.1", port=6379)
    try:
        await r.ping()
    except Exception:
        await r.aclose()
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"parity-test:{uuid.uuid4().hex}"
    t = Ticks(store)
    t.tick("a", State.HEALTHY)
    t.tick("b", State.CHANGED, stat=50.0)
    cfg = make_config(["a", "b"], server={"redis_prefix": prefix, "shared_sync_s": 0},
                      watch={"enabled": True})
    clock = Clock()
    reader = harness({"a": FakeEndpoint(), "b": FakeEndpoint()}, cfg, store=store, clock=clock,
                     redis=redis_asyncio.Redis(host="127.0.0.1", port=6379))
    follower = harness({"a": FakeEndpoint(), "b": FakeEndpoint()}, cfg, clock=clock,
                       redis=redis_asyncio.Redis(host="127.0.0.1", port=6379))
    try:
        await reader.gw.sync()  # publishes what it read from the store
        served = {(await follower.chat(model="m:verified")).headers["x-parity-endpoint"] for _ in range(10)}
        assert served == {"a"}
        await r.set(f"{prefix}:watch:a", b"{not json")  # a garbled record is dropped, never a 500
        await follower.gw.sync()
        assert (await follower.chat(model="m:verified")).headers["x-parity-endpoint"] == "a"
    finally:
        keys = [k async for k in r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()


def test_the_excluded_header_is_bounded() -> None:
    from parity.gateway._router import Plan

    assert Plan([]).excluded_header() is None
    shown = json.loads(Plan([], {f"e{i}": "é" + "x" * 300 for i in range(20)}).excluded_header() or "")
    assert len(shown) == 17 and shown["..."] == "4 more" and len(shown["e0"]) == 200
    assert Plan([], {"a": "é"}).excluded_header() == '{"a":"\\u00e9"}'  # ASCII: a header value

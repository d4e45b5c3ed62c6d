"""Switch and misroute flags, relative and random times, the run-time admin API, and the testbed's
switch variant (on a fake build: real processes and proxy, a tiny Python server as llama-server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from parity.testbed import Testbed, TestbedError
from parity.testbed.faults import (
    FaultConfig,
    MisrouteSpec,
    SwitchSpec,
    create_app,
    flag_target,
    parse_misroute,
    parse_switch,
    request_digest,
)
from parity.testbed.faults._switch import Router

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _digest(i: int) -> bytes:
    return request_digest({"messages": [{"role": "user", "content": f"q{i}"}]}, 0)


def test_switch_flags() -> None:
    urls = {"q4_0": "http://127.0.0.1:9001", "template": "http://127.0.0.1:9002"}
    s = parse_switch("q4_0@+60s..+5m", urls.__getitem__)
    assert (s.upstream, s.after_s, s.until_s, s.sampling_override) == (urls["q4_0"], 60.0, 300.0, False)
    s = parse_switch("template+sampling@after:100", urls.__getitem__)
    assert (s.upstream, s.after_requests, s.sampling_override) == (urls["template"], 100, True)
    s = parse_switch("sampling")
    assert (s.upstream, s.sampling_override, s.after_s) == (None, True, 0.0)  # no @WHEN: at once
    s = parse_switch("http://127.0.0.1:8081@2026-03-01T10:00:00Z..2026-03-01T11:00:00Z")
    assert (s.upstream, s.at, s.until) == ("http://127.0.0.1:8081", T0 + timedelta(hours=10),
                                           T0 + timedelta(hours=11))
    assert parse_switch("q4_0@manual").manual
    assert parse_switch("q4_0@random:1m-10m", seed=3).random_s == (60.0, 600.0)
    assert flag_target("template+sampling@+1m") == "template" and flag_target("sampling@manual") is None
    assert flag_target("http://127.0.0.1:8081@+1m") == "http://127.0.0.1:8081"


def test_misroute_flags() -> None:
    m = parse_misroute("q4_0:0.1@+1m..+11m")
    assert (m.upstream, m.share, m.start_s, m.end_s) == ("q4_0", 0.1, 60.0, 660.0)
    m = parse_misroute("http://127.0.0.1:8081:0.25")
    assert (m.upstream, m.share, m.start_s) == ("http://127.0.0.1:8081", 0.25, None)
    assert flag_target("http://127.0.0.1:8081:0.25@manual", misroute=True) == "http://127.0.0.1:8081"


@pytest.mark.parametrize(("flag", "message"), [
    ("q4_0@+soon", "not a duration"),
    ("q4_0@2026-03-01T10:00:00", "needs a timezone"),
    ("q4_0@random:5m", "random:LOW-HIGH"),
    ("q4_0@after:many", "number of requests"),
    ("q4_0@+5m..+1m", "until_s"),
])
def test_bad_switch_flags_say_why(flag: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_switch(flag)


@pytest.mark.parametrize(("flag", "message"), [
    ("q4_0", "TARGET:SHARE"), ("q4_0:lots", "not a number"), ("q4_0:1.5", "less than or equal"),
    ("q4_0:0.1@+5m..+1m", "end_s"),
])
def test_bad_misroute_flags_say_why(flag: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_misroute(flag)


def test_relative_switch_counts_from_the_start_and_undoes_itself() -> None:
    clock = Clock()
    r = Router("http://a", SwitchSpec(upstream="http://b", after_s=60, until_s=120), clock=clock)
    seen = []
    for s in (0, 59, 60, 119, 120):
        clock.now = T0 + timedelta(seconds=s)
        seen.append(r.route(_digest(s)).upstream)
    assert seen == ["http://a", "http://a", "http://b", "http://b", "http://a"]


def test_random_switch_time_is_drawn_in_its_window_from_the_seed() -> None:
    times = {SwitchSpec(upstream="http://b", random_s=(60, 600), seed=k).resolve(T0)[0] for k in range(40)}
    assert all(t is not None and T0 + timedelta(seconds=60) <= t <= T0 + timedelta(seconds=600) for t in times)
    assert len(times) == 40  # a different time per seed
    same = SwitchSpec(upstream="http://b", random_s=(60, 600), seed=7)
    assert same.resolve(T0) == same.resolve(T0)


def test_force_on_off_and_back_to_the_schedule() -> None:
    clock = Clock()
    r = Router("http://a", SwitchSpec(upstream="http://b", manual=True),
               MisrouteSpec(upstream="http://c", share=1.0, manual=True), clock=clock)
    assert r.route(_digest(0)).upstream == "http://a"  # manual: nothing until told
    r.force("switch", "on")
    assert r.route(_digest(1)).upstream == "http://b"
    r.force("switch", "off")
    r.force("misroute", "on")
    assert r.route(_digest(2)).upstream == "http://c"
    r.force("misroute", "auto")
    assert r.route(_digest(3)).upstream == "http://a"
    assert r.describe()["switch"] | {"from": None} == {
        "active": False, "force": "off", "from": None, "until": None, "requests": 1, "upstream": "http://b",
        "sampling_override": False}
    with pytest.raises(ValueError, match="no switch"):
        Router("http://a").force("switch", "on")


def test_a_switch_needs_one_way_of_saying_when() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        SwitchSpec(upstream="http://b", manual=True, after_s=5)


async def _proxy(config: FaultConfig, client: tuple[str, int] = ("127.0.0.1", 5555)) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(create_app(config), client=client),
                             base_url="http://proxy")


async def test_admin_api_flips_from_loopback_only() -> None:
    config = FaultConfig(upstream="http://a.test", switch=SwitchSpec(upstream="http://b.test", manual=True))
    async with await _proxy(config) as proxy:
        r = await proxy.post("/admin/switch", json={"state": "on"})
        assert r.status_code == 200 and r.json()["switch"]["active"] is True
        assert (await proxy.get("/admin/state")).json()["switch"]["force"] == "on"
        assert (await proxy.get("/health")).json()["switch"]["active"] is True
        r = await proxy.post("/admin/switch", json={"state": "off"})
        assert r.json()["switch"]["active"] is False
        assert (await proxy.post("/admin/switch", json={"state": "sideways"})).status_code == 400
        assert (await proxy.post("/admin/switch", content=b"[1, 2")).status_code == 400
        r = await proxy.post("/admin/misroute", json={"state": "on"})
        assert r.status_code == 409 and "no misroute" in r.json()["error"]["message"]
        assert (await proxy.post("/admin/nothing", json={"state": "on"})).status_code == 404
    async with await _proxy(config, client=("10.0.0.7", 5555)) as remote:
        r = await remote.post("/admin/switch", json={"state": "on"})
        assert r.status_code == 403
        assert (await remote.get("/admin/state")).status_code == 403


@pytest.fixture
def bed(tmp_path: Path, fake_cache: Path) -> Iterator[Testbed]:
    b = Testbed(tmp_path / "run", fake_cache, startup_timeout_s=30, log=lambda _: None,
                switch="template@manual", misroute="q2:0.5@+1h..+2h")
    yield b
    b.down()


def test_the_switch_variant_starts_with_its_targets_and_flips(bed: Testbed) -> None:
    records = {r.variant: r for r in bed.up(["switch"])}
    running = {s.record.variant: s.record for s in bed.status()}
    assert set(running) == {"replica", "q2", "template", "switch"}  # upstream and both targets started
    proxy = records["switch"]
    assert proxy.serves["switch"] == "template@manual" and proxy.serves["faults"] == "none"
    admin = proxy.health_url.removesuffix("/health") + "/admin"
    state: dict[str, Any] = httpx.get(f"{admin}/state", timeout=10).json()
    assert state["switch"]["upstream"] == running["template"].base_url.removesuffix("/v1")
    assert state["misroute"]["upstream"] == running["q2"].base_url.removesuffix("/v1")
    assert state["switch"]["active"] is False and state["misroute"]["active"] is False
    assert httpx.post(f"{admin}/switch", json={"state": "on"}, timeout=10).status_code == 200
    for i in range(3):
        assert httpx.post(f"{proxy.base_url}/chat/completions", json={"messages": [{"role": "user",
                          "content": str(i)}]}, timeout=10).status_code == 200
    assert httpx.get(f"{admin}/state", timeout=10).json()["switch"]["requests"] == 3
    assert [r.variant for r in bed.stop(["switch"])] == ["switch"]
    assert {s.record.variant for s in bed.status()} == {"replica", "q2", "template"}


def test_bad_switch_flags_fail_before_anything_starts(tmp_path: Path, fake_cache: Path) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Testbed(tmp_path / "run", fake_cache, switch="q4_0@+soon")
    bed = Testbed(tmp_path / "run", fake_cache, startup_timeout_s=30, log=lambda _: None,
                  switch="http://127.0.0.1:9@manual")
    try:
        records = bed.up(["switch"])  # a URL target: nothing more to start
        assert {r.variant for r in records} == {"replica", "switch"}
    finally:
        bed.down()
    with pytest.raises(TestbedError, match="unknown variant"):
        Testbed(tmp_path / "run2", fake_cache, switch="q9@manual", log=lambda _: None).up(["switch"])


def test_cli_up_with_a_switch_then_flip(tmp_path: Path, fake_cache: Path) -> None:
    from typer.testing import CliRunner

    from parity.cli.testbed import app

    runner = CliRunner()
    where = ["--run-dir", str(tmp_path / "run"), "--cache-dir", str(fake_cache)]
    bad = runner.invoke(app, ["up", "--switch", "q4_0@+soon", *where])
    assert bad.exit_code == 2 and "not a duration" in bad.output
    try:
        up = runner.invoke(app, ["up", "--variants", "switch", "--switch", "template@manual", *where])
        assert up.exit_code == 0, up.output
        on = runner.invoke(app, ["flip", "on", *where])
        assert on.exit_code == 0 and '"active": true' in on.output
        off = runner.invoke(app, ["flip", "off", *where])
        assert off.exit_code == 0 and '"active": false' in off.output
        assert runner.invoke(app, ["flip", "sideways", *where]).exit_code == 2
        none = runner.invoke(app, ["flip", "on", "--misroute", *where])
        assert none.exit_code == 2 and "no misroute configured" in none.output
    finally:
        runner.invoke(app, ["down", *where])

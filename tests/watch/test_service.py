"""The watch loop over fake endpoints: ticks, detection, budgets, restart without re-sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from helpers import make_config

from parity.config import ConfigError
from parity.store import Store
from parity.watch import REFERENCE_STREAM, SENTINEL, State, WatchConfig, WatchService

from .watch_fakes import Served, fake

START = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _watch(**extra: Any) -> WatchConfig:
    sentinel = {"period_minutes": 1.0, "prompts": 3, **extra.pop("sentinel", {})}
    return WatchConfig.model_validate({"arl_days": 200 / 1440, "warn_arl_days": 20 / 1440,
                                       "recovery_minutes": 5, "window_hours": 2,
                                       "reference_lag_hours": 5 / 60, "jitter": 0.3,
                                       "sentinel": sentinel, **extra})


class World:
    def __init__(self, tmp_path: Path, **watch: Any) -> None:
        self.config = make_config("ref", "cand")
        self.served = {"ref": Served(name="ref"), "cand": Served(name="cand")}
        self.apps = {k: fake(v) for k, v in self.served.items()}
        self.db = str(tmp_path / "w.db")
        self.watch = _watch(**watch)
        self.clock = Clock()

    def service(self) -> WatchService:
        return WatchService(self.config, self.watch, Store(self.db), clock=self.clock,
                            transport=lambda e: httpx.ASGITransport(self.apps[e.name]))  # type: ignore[arg-type]

    async def minutes(self, svc: WatchService, n: int) -> list[Any]:
        out = []
        for _ in range(4 * n):  # finer than the jitter, so that no tick is missed
            self.clock.now += timedelta(seconds=15)
            out += await svc.run_once()
        return out


async def test_healthy_endpoints_stay_healthy_and_every_tick_is_kept(tmp_path: Path) -> None:
    w = World(tmp_path)
    svc = w.service()
    recs = await w.minutes(svc, 30)
    await svc.aclose()
    assert {r.status for r in recs} == {"done"}
    assert svc.states() == {("ref", REFERENCE_STREAM): State.HEALTHY, ("cand", SENTINEL): State.HEALTHY}
    cand = svc.store.ticks("cand", SENTINEL)
    assert 28 <= len(cand) <= 31 and all(len(t.observations) == 4 for t in cand)
    ref = svc.store.ticks("ref", REFERENCE_STREAM)
    assert sum(bool(t.observations) for t in ref) >= len(ref) - 6  # the first 5 have no past yet
    # Every candidate tick: 3 prompts + canary once from the candidate, twice from the reference.
    assert cand[0].costs == {"cand": (4, 56), "ref": (8, 112)}
    assert svc.store.spent("cand", START.date()).requests == 4 * len(cand)
    assert svc.store.transitions() == []
    later = svc.store.ticks("cand", SENTINEL, since=cand[10].scheduled_at)
    assert later == cand[10:]
    assert svc.store.ticks("cand", SENTINEL, last=3) == cand[-3:]


async def test_a_switched_candidate_is_flagged_changed_with_its_evidence(tmp_path: Path) -> None:
    w = World(tmp_path)
    svc = w.service()
    await w.minutes(svc, 10)
    w.served["cand"].shift = 0.2
    w.served["cand"].calls = False
    await w.minutes(svc, 10)
    trs = svc.store.transitions("cand")
    assert [t.to_state for t in trs][-1] is State.CHANGED
    changed = trs[-1]
    assert changed.statistic >= changed.alarm == 200
    assert changed.reference_state is State.HEALTHY
    assert changed.evidence_ticks and changed.exchange_keys[0].startswith(changed.tick_id)
    assert svc.states()[("ref", REFERENCE_STREAM)] is State.HEALTHY
    assert [a.key for a in svc.store.alerts()] == [t.id for t in trs]
    assert svc.store.alerts()[-1].body["state"] == "changed"
    # Switched back: recovering, then healthy.
    w.served["cand"].shift, w.served["cand"].calls = 0.0, True
    await w.minutes(svc, 15)
    await svc.aclose()
    assert [t.to_state for t in svc.store.transitions("cand")][-2:] == [State.RECOVERING, State.HEALTHY]


async def test_restart_resumes_the_detector_and_resends_nothing(tmp_path: Path) -> None:
    w = World(tmp_path)
    svc = w.service()
    await w.minutes(svc, 8)
    w.served["cand"].shift = 0.2
    await w.minutes(svc, 2)
    before = svc.monitor("cand", SENTINEL).detector.statistic
    await svc.aclose()
    again = w.service()
    assert again.monitor("cand", SENTINEL).detector.statistic == pytest.approx(before)
    n = len(w.apps["cand"].requests)
    assert await again.run_once() == []  # the due ticks are recorded already
    assert len(w.apps["cand"].requests) == n
    await again.aclose()


async def test_a_tick_killed_before_it_was_recorded_is_finished_without_resending(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(tmp_path)
    svc = w.service()

    def killed(*_a: Any, **_k: Any) -> bool:
        raise KeyboardInterrupt  # stands for kill -9 after the requests were stored

    monkeypatch.setattr(svc.store, "record_tick", killed)
    with pytest.raises(KeyboardInterrupt):
        await w.minutes(svc, 1)
    await svc.aclose()
    sent = {k: len(a.requests) for k, a in w.apps.items()}
    assert sent["ref"] > 0
    again = w.service()
    done = await again.run_once()
    await again.aclose()
    assert {r.status for r in done} == {"done"} and len(done) == 2
    # The reference's tick was finished from the store; nothing was asked twice.
    for app in w.apps.values():
        bodies = [orjson.dumps(b, option=orjson.OPT_SORT_KEYS) for b in app.requests]
        assert len(set(bodies)) == len(bodies)
    assert len(w.apps["ref"].requests) == sent["ref"] + 8


async def test_ticks_over_the_daily_budget_are_skipped_and_reported(tmp_path: Path) -> None:
    w = World(tmp_path, endpoints={"cand": {"requests_per_day": 10}})
    svc = w.service()
    recs = await w.minutes(svc, 4)
    await svc.aclose()
    cand = [r for r in recs if r.endpoint == "cand"]
    assert [r.status for r in cand][:3] == ["done", "done", "skipped"]
    assert cand[2].reason is not None and "cand: requests: 8 spent + 4 planned > 10" in cand[2].reason
    assert svc.store.spent("cand", START.date()).requests == 8


async def test_scheduled_suites_run_as_keyed_runs_linked_to_the_watch(tmp_path: Path) -> None:
    w = World(tmp_path, suites={"toolcall": {"period_hours": 1, "limit": 3}})
    svc = w.service()
    recs = [r for r in await w.minutes(svc, 130) if r.stream == "toolcall"]
    # The latest tick due at the start, then hourly for 130 minutes: three runs.
    assert [r.status for r in recs] == ["done", "done", "done"]
    for r in recs:
        assert r.endpoint == "cand" and r.run_id is not None
        assert r.verdicts["ref"] == "reference" and set(r.verdicts) == {"ref", "cand"}
        run = svc.store.store.get_run(r.run_id)
        assert run.status == "complete" and run.fingerprint == f"watch:{r.id}"
        assert run.config["watch"]["tick"] == r.id and run.suites == ["toolcall"]
        # 3 cases, the reference twice (its own variability), 14 tokens per answer.
        assert r.costs == {"ref": (6, 84), "cand": (3, 42)}
        assert svc.store.store.count_exchanges(r.run_id) == 9
    assert {v.endpoint for v in svc.store.store.verdicts(recs[0].run_id)} == {"ref", "cand"}
    # The day's spend includes the suites' requests.
    today = [t for t in svc.store.ticks("cand") if t.scheduled_at.date() == START.date()]
    assert {t.stream for t in today} == {SENTINEL, "toolcall"}
    assert svc.store.spent("cand", START.date()).requests == sum(t.costs["cand"][0] for t in today)
    # Run again at the same time: every job is stored, nothing is sent.
    assert await svc.run_once() == []
    await svc.aclose()


async def test_a_scheduled_suite_over_the_day_budget_is_skipped_with_why(tmp_path: Path) -> None:
    w = World(tmp_path, suites={"toolcall": {"period_hours": 1, "limit": 3}},
              endpoints={"cand": {"requests_per_day": 2}})
    svc = w.service()
    recs = [r for r in await w.minutes(svc, 70) if r.stream == "toolcall"]
    await svc.aclose()
    assert [r.status for r in recs] == ["skipped", "skipped"]
    assert recs[0].reason is not None and "cand: requests: 0 spent + 3 planned > 2" in recs[0].reason


def test_unknown_scheduled_suites_are_configuration_errors() -> None:
    from parity.watch import parse_watch

    with pytest.raises(ConfigError, match="unknown suites: nosuch"):
        parse_watch({"suites": {"nosuch": 24}}, make_config("ref", "cand"))


async def test_a_hanging_webhook_never_blocks_the_loop(tmp_path: Path) -> None:
    import asyncio
    import threading

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from parity.fake import serve
    from parity.watch import AlertPolicy, AlertSender

    release = threading.Event()
    got: list[bytes] = []

    async def hook(request: Request) -> Response:
        got.append(await request.body())
        await asyncio.get_running_loop().run_in_executor(None, release.wait)
        return Response(status_code=200)

    w = World(tmp_path)
    svc = w.service()
    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        svc.alerts = AlertSender(svc.store, AlertPolicy(timeout_s=60), f"{base}/hook")
        task = asyncio.create_task(svc.alerts.run())
        w.served["cand"].shift = 0.2
        for _ in range(30):  # until the first alert hangs at the receiver
            await w.minutes(svc, 1)
            if got:
                break
        assert got
        ticks_before = len(svc.store.ticks())
        await w.minutes(svc, 3)
        assert len(svc.store.ticks()) > ticks_before
        assert svc.store.alerts()[0].status == "sending"  # recorded before the POST left
        release.set()

        async def delivered() -> None:
            while svc.store.alerts(statuses=["pending", "sending"]):  # noqa: ASYNC110 (polls the store, no event to wait on)
                await asyncio.sleep(0.01)

        await asyncio.wait_for(delivered(), 60)  # a guard against hanging, not a measurement
        task.cancel()
    await svc.aclose()
    assert {a.status for a in svc.store.alerts()} == {"delivered"}


async def test_a_blocked_store_call_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """Store calls run off the loop: while one hangs (a slow PostgreSQL), the loop goes on."""
    import asyncio
    import threading

    w = World(tmp_path)
    svc = w.service()
    entered, release = threading.Event(), threading.Event()
    real = svc.store.has_tick

    def slow(tick_id: str) -> bool:
        entered.set()
        release.wait(60)
        return real(tick_id)

    svc.store.has_tick = slow  # type: ignore[method-assign]
    guard = threading.Timer(60, release.set)  # a hang guard only: released below at once
    guard.start()
    w.clock.now += timedelta(seconds=15)
    task = asyncio.create_task(svc.run_once())
    while not entered.is_set():  # noqa: ASYNC110 (the blocked call is in a thread: nothing to await)
        await asyncio.sleep(0.001)
    await asyncio.sleep(0)  # the loop turns while the store call is blocked
    loop_ran_while_blocked = not release.is_set()
    release.set()
    guard.cancel()
    recs = await task
    await svc.aclose()
    assert loop_ran_while_blocked
    assert {r.status for r in recs} == {"done"}


async def test_a_black_box_candidate_is_watched_by_greedy_rounds(tmp_path: Path) -> None:
    w = World(tmp_path, endpoints={"cand": {"logprobs": False}})
    svc = w.service()
    assert svc.designs["cand"].greedy and not svc.designs["ref"].greedy
    await w.minutes(svc, 10)
    cand = svc.store.ticks("cand", SENTINEL)
    assert svc.states()[("cand", SENTINEL)] is State.HEALTHY
    assert all(t.observations == [0.0] * 4 for t in cand)  # deterministic greedy answers agree
    sent = svc.store.store.exchanges(cand[0].id)
    prompts = [x for x in sent if not x.case_id.startswith("canary")]
    assert len(prompts) == 9 and all(x.request["temperature"] == 0.0 and x.request["max_tokens"] == 32
                                     and "logprobs" not in x.request for x in prompts)
    w.served["cand"].shift = 0.5  # its greedy answer flips on every prompt
    await w.minutes(svc, 10)
    await svc.aclose()
    trs = svc.store.transitions("cand")
    assert trs and trs[-1].to_state is State.CHANGED
    assert svc.states()[("ref", REFERENCE_STREAM)] is State.HEALTHY

"""An endpoint configured for logprobs that answers without them is switched to the black-box sentinel."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from parity.exchange import Exchange
from parity.watch import REFERENCE_STREAM, SENTINEL, State, WatchService
from parity.watch._reprobe import is_probe
from parity.watch._sentinel import logprobs_missing

from .test_service import World


@pytest.mark.parametrize("how", ["drop", "refuse"])
async def test_a_candidate_without_logprobs_is_switched_to_greedy_rounds_and_stays_healthy(
        tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    w = World(tmp_path)
    svc = w.service()
    await w.minutes(svc, 5)  # with logprobs
    w.served["cand"].logprobs = how  # the provider stops reporting them (or refuses the parameter)
    await w.minutes(svc, 15)
    cand = svc.store.ticks("cand", SENTINEL)
    switched = [i for i, t in enumerate(cand) if t.reason is not None]
    assert len(switched) == 1, [t.reason for t in cand]
    first = cand[switched[0]]
    assert first.logprobs_missing == first.reason and "sentinel switched to greedy black-box" in first.reason
    assert ("without logprobs" if how == "drop" else "refused with HTTP 400") in first.reason
    assert all(t.logprobs_missing is None for t in cand[:switched[0]])
    assert all(t.logprobs_missing == first.reason for t in cand[switched[0]:])  # carried forward, stored
    assert any("watch.sentinel cand no logprobs since tick" in r.getMessage() for r in caplog.records)  # logged
    # From the next tick on: greedy rounds, no logprobs asked, on the candidate and its reference answers.
    after = cand[switched[0] + 1]
    sent = [x for x in svc.store.store.exchanges(after.id) if not x.case_id.startswith("canary")]
    assert sent and all(x.request["temperature"] == 0.0 and "logprobs" not in x.request for x in sent)
    assert {x.endpoint for x in sent} == {"ref", "cand"} and all(x.ok for x in sent)
    # The detector was not reset: its processes span the switch; nothing alarmed (same model).
    mon = svc.monitor("cand", SENTINEL)
    assert cand[switched[0] - 1].id in mon.detector.started
    assert svc.states() == {("ref", REFERENCE_STREAM): State.HEALTHY, ("cand", SENTINEL): State.HEALTHY}
    assert svc.store.transitions() == []
    # A restart keeps the switch (read from the stored ticks).
    await svc.aclose()
    again = w.service()
    design, why = again.design("cand")
    assert design.greedy and why == first.reason
    assert not again.design("ref")[0].greedy
    await again.aclose()


async def test_a_switched_candidate_that_changes_is_still_found(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.served["cand"].logprobs = "drop"
    svc = w.service()
    await w.minutes(svc, 5)
    assert svc.design("cand")[0].greedy
    w.served["cand"].shift = 0.5  # its greedy answer flips on every prompt
    await w.minutes(svc, 10)
    await svc.aclose()
    assert svc.states()[("cand", SENTINEL)] is State.CHANGED


async def test_a_reference_without_logprobs_switches_itself_and_its_candidates(tmp_path: Path) -> None:
    w = World(tmp_path)
    svc = w.service()
    await w.minutes(svc, 6)
    w.served["ref"].logprobs = "drop"
    await w.minutes(svc, 10)
    await svc.aclose()
    assert svc.design("ref")[0].greedy
    design, why = svc.design("cand")
    assert design.greedy and why == "the reference ref reports no logprobs"
    assert svc.store.transitions() == []
    # Its own stream compares each answer with its answer of 5 ticks before: not across the switch.
    ref = svc.store.ticks("ref", REFERENCE_STREAM)
    at = next(i for i, t in enumerate(ref) if t.reason is not None)
    assert at >= 5 and all(len(t.observations) == 1 for t in ref[at + 1:at + 6])  # the canary only
    assert all(len(t.observations) == 4 for t in ref[at + 6:])


def test_failed_requests_are_no_evidence_of_missing_logprobs() -> None:
    assert logprobs_missing([], "cand") is None


class Killed(BaseException):
    """Not KeyboardInterrupt: asyncio re-raises that out of the event loop from a gathered task."""


def _probes(svc: WatchService, tick_id: str) -> list[Exchange]:
    return [x for x in svc.store.store.exchanges(tick_id) if is_probe(x)]


async def test_a_candidate_whose_logprobs_come_back_is_probed_and_switched_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = World(tmp_path, sentinel={"logprobs_reprobe_ticks": 3})
    svc = w.service()
    await w.minutes(svc, 3)
    w.served["cand"].logprobs = "drop"
    await w.minutes(svc, 8)  # switched, then probed every 3 ticks: still none
    w.served["cand"].logprobs = "yes"  # the provider turns them on again
    await w.minutes(svc, 6)
    await svc.aclose()
    cand = svc.store.ticks("cand", SENTINEL)
    at = next(i for i, t in enumerate(cand) if t.logprobs_missing is not None)
    assert cand[at].logprobs_asked == cand[at].index
    probed = [i for i, t in enumerate(cand) if _probes(svc, t.id)]
    back = next(i for i, t in enumerate(cand) if i > at and t.logprobs_missing is None)
    # A probe every 3 ticks from the switch, each one request more (planned, sent, charged).
    assert probed and probed[0] == at + 3 and all(b - a == 3 for a, b in pairwise(probed))
    assert probed[-1] == back  # the probe that found them is the tick that switched back
    for i in probed:
        assert cand[i].costs["cand"][0] == 5 and cand[i].costs["ref"][0] == 8
        assert len(cand[i].observations) == 4  # the black-box observations only
        (p,) = _probes(svc, cand[i].id)
        assert p.request.get("logprobs") and p.request["temperature"] != 0.0
    assert all(cand[i].costs["cand"][0] == 4 for i in range(at, back) if i not in probed)
    # The switch back: stored with why on the tick whose probe found them, logged, carried.
    reason = cand[back].reason
    assert reason is not None and reason.startswith(f"logprobs back since tick {cand[back].id}")
    assert "sentinel switched back from greedy black-box to logprobs" in reason
    assert all(t.logprobs_missing is not None for t in cand[at:back])
    assert all(t.logprobs_missing is None for t in cand[back:])
    assert not any(_probes(svc, t.id) for t in cand[back + 1:])
    assert any("watch.sentinel cand logprobs back since tick" in r.getMessage() for r in caplog.records)
    # From the next tick on: the logprob sentinel again; the detector carried on across both switches.
    after = [x for x in svc.store.store.exchanges(cand[back + 1].id) if not x.case_id.startswith("canary")]
    assert after and all(x.request.get("logprobs") and x.request["temperature"] != 0.0 for x in after)
    assert not svc.design("cand")[0].greedy
    assert cand[at - 1].id in svc.monitor("cand", SENTINEL).detector.started
    assert svc.store.transitions() == []


@pytest.mark.parametrize("extra", [{"endpoints": {"cand": {"logprobs": False, "blackbox": "hamming"}}},
                                   {"endpoints": {"cand": {"logprobs": False}}},
                                   {"sentinel": {"logprobs_reprobe_ticks": 0}}])
async def test_no_probe_for_an_endpoint_configured_without_logprobs_nor_with_reprobes_off(
        tmp_path: Path, extra: dict[str, Any]) -> None:
    w = World(tmp_path, **{"sentinel": {"logprobs_reprobe_ticks": 2}, **extra})
    w.served["cand"].logprobs = "drop"
    svc = w.service()
    await w.minutes(svc, 10)
    await svc.aclose()
    cand = svc.store.ticks("cand", SENTINEL)
    assert len(cand) >= 9 and not any(_probes(svc, t.id) for t in cand)
    assert all(t.costs["cand"][0] == 4 for t in cand)


async def test_a_reference_probes_and_its_candidates_follow_it_back(tmp_path: Path) -> None:
    w = World(tmp_path, sentinel={"logprobs_reprobe_ticks": 2})
    w.served["ref"].logprobs = "drop"
    svc = w.service()
    await w.minutes(svc, 4)
    assert svc.design("cand") == (svc.design("cand")[0], "the reference ref reports no logprobs")
    cand = svc.store.ticks("cand", SENTINEL)
    assert not any(_probes(svc, t.id) for t in cand)  # the reference probes, not its followers
    w.served["ref"].logprobs = "yes"
    await w.minutes(svc, 4)
    await svc.aclose()
    ref = svc.store.ticks("ref", REFERENCE_STREAM)
    assert any(t.reason and t.reason.startswith("logprobs back since tick") for t in ref)
    assert not svc.design("ref")[0].greedy and not svc.design("cand")[0].greedy
    cand = svc.store.ticks("cand", SENTINEL)
    assert any(t.reason == "the reference ref reports logprobs again: sentinel back on logprobs" for t in cand)
    assert cand[-1].logprobs_missing is None


async def test_the_probe_is_budgeted_before_the_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(tmp_path, sentinel={"logprobs_reprobe_ticks": 2})
    w.served["cand"].logprobs = "drop"
    svc = w.service()
    planned: list[dict[str, int]] = []
    real = svc._over_budget

    def spy(tick: Any, requests: dict[str, int]) -> str | None:
        if tick.endpoint == "cand":
            planned.append(dict(requests))
        return real(tick, requests)

    monkeypatch.setattr(svc, "_over_budget", spy)
    await w.minutes(svc, 6)
    await svc.aclose()
    cand = svc.store.ticks("cand", SENTINEL)
    assert [p["cand"] for p in planned] == [t.costs["cand"][0] for t in cand]
    assert 5 in [p["cand"] for p in planned]


async def test_a_tick_killed_after_its_probe_was_sent_does_not_send_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(tmp_path, sentinel={"logprobs_reprobe_ticks": 2})
    w.served["cand"].logprobs = "drop"
    svc = w.service()
    real = svc.store.record_tick

    def killed(rec: Any, *a: Any, **k: Any) -> bool:
        if _probes(svc, rec.id):
            raise Killed  # stands for kill -9 after the probe's answer was stored
        return real(rec, *a, **k)

    monkeypatch.setattr(svc.store, "record_tick", killed)
    with pytest.raises(Killed):
        await w.minutes(svc, 10)
    await svc.aclose()
    probes = [b for b in w.apps["cand"].requests if b.get("logprobs") and b.get("temperature") != 0.0]
    assert len(probes) == 3 + 1  # the first tick's sampled prompts (it found none), and the probe
    w.served["cand"].logprobs = "yes"  # its answer, had it been asked again, would switch back
    again = w.service()
    done = await again.run_once()
    await again.aclose()
    assert "cand" in {r.endpoint for r in done}
    cut = next(r for r in done if r.endpoint == "cand")
    assert len(_probes(again, cut.id)) == 1 and cut.logprobs_missing is not None  # the stored answer, reused
    bodies = [orjson.dumps(b, option=orjson.OPT_SORT_KEYS) for b in w.apps["cand"].requests]
    assert len(set(bodies)) == len(bodies)
    assert [b for b in w.apps["cand"].requests if b.get("logprobs") and b.get("temperature") != 0.0] == probes


async def test_an_endpoint_configured_without_logprobs_on_hamming_is_never_asked_for_them(tmp_path: Path) -> None:
    w = World(tmp_path, endpoints={"cand": {"logprobs": False, "blackbox": "hamming"}})
    w.served["cand"].logprobs = "refuse"  # a provider that answers HTTP 400 to the parameter
    svc = w.service()
    design = svc.designs["cand"]
    assert not design.greedy and not design.asks_logprobs and svc.designs["ref"].asks_logprobs
    await w.minutes(svc, 10)
    await svc.aclose()
    cand = svc.store.ticks("cand", SENTINEL)
    assert len(cand) >= 9 and all(t.status == "done" for t in cand)
    # sampled (not greedy) prompts, no logprobs asked of it nor of the reference on its ticks;
    # its black-box state is its configuration, not a finding: no switch note, nothing missing
    sent = [x for t in cand for x in svc.store.store.exchanges(t.id) if not x.case_id.startswith("canary")]
    assert sent and all(x.ok and "logprobs" not in x.request and x.request["temperature"] != 0.0 for x in sent)
    assert {x.endpoint for x in sent} == {"ref", "cand"}
    assert all(t.reason is None and t.logprobs_missing is None for t in cand)
    assert svc.states()[("cand", SENTINEL)] is State.HEALTHY

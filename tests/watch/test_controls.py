"""K reference controls per candidate request: the rank e-value, its detector, the sentinel's use of them."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from datetime import timedelta
from pathlib import Path

import pytest

from parity.case import Case
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.watch import (
    SENTINEL,
    EvalueDetector,
    Levels,
    Monitor,
    SentinelDesign,
    State,
    observe,
    rank_evalue,
)
from parity.watch._detect import Detector

from .test_service import START, World

# The [watch] defaults at 5-minute ticks: alarm 8640 (30 days), window 288 (24 hours).
LEVELS = Levels.from_times(period_s=300.0, arl_s=30 * 86400.0, warn_arl_s=86400.0, recovery_s=3600.0,
                           window_s=86400.0)


# the rank e-value --------------------------------------------------------------------------
def test_ties_everywhere_give_exactly_one() -> None:
    assert rank_evalue(0.0, [0.0] * 10) == 1.0
    assert rank_evalue(0.3, [0.3]) == 1.0


def test_strictly_farthest_gets_k_plus_one_and_not_largest_gets_zero() -> None:
    assert rank_evalue(0.2, [0.0] * 10) == 11.0
    assert rank_evalue(0.2, [0.1] * 19) == 20.0
    assert rank_evalue(0.0, [0.0, 0.1]) == 0.0
    assert rank_evalue(0.1, [0.2, 0.0, 0.0]) == 0.0
    assert rank_evalue(0.2, [0.2, 0.0, 0.0]) == 2.0  # tied with one control for the largest: 4 / 2
    with pytest.raises(ValueError, match="at least one control"):
        rank_evalue(0.1, [])


@pytest.mark.parametrize("values", [(0.0, 0.0, 0.0, 0.0), (0.0, 0.2, 0.0, 0.1), (0.3, 0.3, 0.1, 0.0),
                                    (0.1, 0.2, 0.3, 0.4, 0.5), (0.5, 0.5, 0.5, 0.0, 0.0)])
def test_mean_is_exactly_one_over_every_order(values: tuple[float, ...]) -> None:
    # Exchangeable y and controls: every assignment of the values to (y, controls) is equally likely.
    es = [rank_evalue(p[0], list(p[1:])) for p in itertools.permutations(values)]
    assert sum(es) / len(es) == pytest.approx(1.0, abs=1e-12)


def test_mean_is_one_on_seeded_exchangeable_draws() -> None:
    # A deterministic replica with rare odd reports (ties and draws mixed), K = 10, 200,000 requests.
    rng = random.Random(7)

    def draw() -> float:
        return rng.choice([0.05, 0.1, 0.2]) if rng.random() < 0.05 else 0.0

    n = 200_000
    es = [rank_evalue(draw(), [draw() for _ in range(10)]) for _ in range(n)]
    mean = sum(es) / n
    sd = math.sqrt(sum((e - mean) ** 2 for e in es) / (n - 1))
    assert abs(mean - 1.0) < 4 * sd / math.sqrt(n)  # 4 standard errors (about 0.007 here)


# the detector ------------------------------------------------------------------------------
def test_evalue_detector_keeps_the_arl_bound_on_null_evalues() -> None:
    rng, det = random.Random(3), EvalueDetector(window=100)
    alarms = 0
    for t in range(3000):  # 4 requests a tick, continuous exchangeable distances (no ties), K = 9
        stat = det.tick(str(t), [rank_evalue(rng.random(), [rng.random() for _ in range(9)]) for _ in range(4)])
        if stat >= 500:
            alarms += 1
            det.reset()
    assert alarms <= 12  # E[alarms] <= 3000 / 500 = 6 by the guarantee; 12 is far in the tail


def test_evalue_detector_finds_a_far_candidate_in_one_tick_and_names_its_evidence() -> None:
    det = EvalueDetector(window=10)
    det.tick("t0", [1.0] * 4)
    assert det.statistic == pytest.approx(1.0)
    stat = det.tick("t1", [11.0] * 4)  # every request farther than all 10 controls
    assert stat == pytest.approx((3.5 ** 4 + 6.0 ** 4 + 10.0 ** 4) / 3)
    assert det.started == ["t0", "t1"] and det.since in {"t0", "t1"}
    with pytest.raises(ValueError, match="e-values"):
        det.tick("t2", [-0.5])


def test_monitor_picks_the_detector_by_controls_and_rebuilds_it() -> None:
    assert isinstance(Monitor("c", SENTINEL, LEVELS).detector, Detector)
    mon = Monitor("c", SENTINEL, LEVELS, controls=10)
    assert isinstance(mon.detector, EvalueDetector)
    ticks = [(f"t{i}", [11.0 if i % 3 == 0 else 1.0, 0.0, 1.0]) for i in range(20)]
    for i, (tid, obs) in enumerate(ticks):
        mon.observe(tid, START + timedelta(minutes=5 * i), obs)
    again = Monitor("c", SENTINEL, LEVELS, controls=10)
    again.rebuild(ticks)
    assert again.detector.statistic == pytest.approx(mon.detector.statistic)


# the sentinel on a misrouting candidate -----------------------------------------------------
def _answer(endpoint: str, case: Case, p: float) -> Exchange:
    top = [{"token": "A", "logprob": math.log(p)}, {"token": "B", "logprob": math.log(1 - p)}]
    return Exchange(status=ExchangeStatus.OK,
                    completion=Completion(content="A c d", logprobs={"content": [
                        {"token": "A", "logprob": math.log(p), "top_logprobs": top}]}),
                    run_id="t", endpoint=endpoint, suite=SENTINEL, case_id=case.id, case_hash=case.hash,
                    request=case.body)


class Stream:
    """A seeded tick stream: the reference reports each prompt's distribution exactly but for rare
    odd reports (1 in 50, off by 0.05–0.3); the candidate answers like it, except that a ``share``
    of its requests goes to a far model (off by 0.35: farther than any odd reference report)."""

    def __init__(self, design: SentinelDesign, share: float, seed: int) -> None:
        self.design, self.share, self.rng = design, share, random.Random(seed)
        self.base = {pid: 0.2 + 0.1 * i for i, pid in enumerate(design.prompts)}

    def _p(self, pid: str, far: bool) -> float:
        odd = self.rng.uniform(0.05, 0.3) if self.rng.random() < 1 / 50 else 0.0
        return self.base[pid] + (0.35 if far else odd)

    def tick(self, tick_id: str) -> list[Exchange]:
        ref = [_answer("ref", c, self._p(c.id.split("#")[0], False))
               for c in self.design.cases(tick_id, "reference", self.design.reference_draws)]
        return ref + [_answer("cand", c, self._p(c.id.split("#")[0], self.rng.random() < self.share))
                      for c in self.design.cases(tick_id, "candidate", 1)]


def _first_alarms(share: float, seed: int, ticks: int) -> dict[int, int | None]:
    """Per K in (1, 10): the tick of the first alarm on one stream (both read the same answers)."""
    design = SentinelDesign.make(4, canary=False, seed=1, controls=10)
    by_k = {k: dataclasses.replace(design, controls=k) for k in (1, 10)}
    mons = {k: Monitor("cand", SENTINEL, LEVELS, controls=k) for k in by_k}
    first: dict[int, int | None] = dict.fromkeys(by_k)
    stream = Stream(design, share, seed)
    for t in range(ticks):
        exchanges = stream.tick(f"tick{t}")
        for k, d in by_k.items():
            obs = observe(d, exchanges, "ref", "cand")
            assert len(obs) == 4
            out = mons[k].observe(f"tick{t}", START + timedelta(minutes=5 * t), obs)
            if first[k] is None and out.state is State.CHANGED:
                first[k] = t
        if all(v is not None for v in first.values()):
            break
    return first


@pytest.mark.parametrize(("seed", "k10", "k1"), [(1, 13, 57), (3, 15, 48), (4, 15, 45)])
def test_ten_controls_find_a_ten_percent_misrouting_sooner_than_one(seed: int, k10: int, k1: int) -> None:
    first = _first_alarms(share=0.1, seed=seed, ticks=400)
    assert first[10] is not None and first[1] is not None
    assert first[10] < first[1] / 2
    assert (first[10], first[1]) == (k10, k1)  # pinned: the stream and both detectors are deterministic


def test_a_healthy_stream_does_not_alarm_with_ten_controls() -> None:
    first = _first_alarms(share=0.0, seed=6, ticks=300)
    assert first == {1: None, 10: None}


# the service ---------------------------------------------------------------------------------
async def test_the_reference_answers_k_plus_one_times_per_candidate_prompt_and_pays_for_it(
        tmp_path: Path) -> None:
    w = World(tmp_path, endpoints={"cand": {"controls": 3}})
    svc = w.service()
    recs = await w.minutes(svc, 3)
    await svc.aclose()
    cand = [r for r in recs if r.endpoint == "cand"]
    ref = [r for r in recs if r.endpoint == "ref"]
    assert cand and all(r.status == "done" for r in recs)
    # 3 prompts + the canary: once from the candidate, K + 1 = 4 times from the reference.
    assert all(r.costs == {"cand": (4, 56), "ref": (16, 224)} for r in cand)
    assert all(r.costs == {"ref": (12, 168)} for r in ref)  # the reference's own stream: unchanged
    assert len(w.apps["ref"].requests) == 16 * len(cand) + 12 * len(ref)
    assert len(w.apps["cand"].requests) == 4 * len(cand)
    days = {r.scheduled_at.date() for r in recs}  # the first tick due may fall on the day before
    assert sum(svc.store.spent("ref", d).requests for d in days) == 16 * len(cand) + 12 * len(ref)
    assert all(r.controls == 3 and len(r.observations) == 4 for r in cand)
    assert all(r.controls == 1 for r in ref)
    assert all(0.0 <= e <= 4.0 for r in cand for e in r.observations)
    assert isinstance(svc.monitor("cand", SENTINEL).detector, EvalueDetector)


async def test_the_reference_budget_plans_for_every_control(tmp_path: Path) -> None:
    w = World(tmp_path, endpoints={"cand": {"controls": 3}, "ref": {"requests_per_day": 50}})
    svc = w.service()
    recs = await w.minutes(svc, 4)
    await svc.aclose()
    skipped = [r for r in recs if r.endpoint == "cand" and r.status == "skipped"]
    assert skipped and skipped[0].reason is not None
    assert "ref: requests:" in skipped[0].reason and "+ 16 planned > 50" in skipped[0].reason
    assert svc.store.spent("ref", START.date()).requests <= 50


async def test_a_switched_candidate_alarms_and_a_restart_resumes_the_e_value_detector(tmp_path: Path) -> None:
    w = World(tmp_path, sentinel={"controls": 5})
    svc = w.service()
    await w.minutes(svc, 5)
    w.served["cand"].shift, w.served["cand"].calls = 0.2, False
    await w.minutes(svc, 10)
    trs = svc.store.transitions("cand")
    assert trs and trs[-1].to_state is State.CHANGED and trs[-1].statistic >= trs[-1].alarm
    assert svc.states()[("ref", "sentinel-reference")] is State.HEALTHY
    before = svc.monitor("cand", SENTINEL).detector.statistic
    await svc.aclose()
    again = w.service()
    assert again.monitor("cand", SENTINEL).detector.statistic == pytest.approx(before)
    await again.aclose()


async def test_changing_controls_restarts_the_detector_from_ticks_of_the_same_kind(tmp_path: Path) -> None:
    w = World(tmp_path)
    svc = w.service()
    await w.minutes(svc, 4)
    await svc.aclose()
    w.watch = w.watch.model_copy(update={"sentinel": w.watch.sentinel.model_copy(update={"controls": 4})})
    again = w.service()
    mon = again.monitor("cand", SENTINEL)
    assert isinstance(mon.detector, EvalueDetector) and mon.detector.started == []  # no g fed as e-values
    recs = await w.minutes(again, 2)
    await again.aclose()
    cand = [r for r in recs if r.endpoint == "cand"]
    assert cand and all(r.controls == 4 for r in cand)
    assert len(mon.detector.started) >= 1

"""Scheduled suites' verdicts move a state per endpoint and suite, stored with their evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from parity.verdict import Outcome, Verdict
from parity.watch import State
from parity.watch._suitestate import suite_statistic, suite_step

from .test_service import World

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _verdict(outcome: Outcome, *, p: float | None = None, e: float | None = None) -> Verdict:
    return Verdict(endpoint="cand", suite="toolcall", verdict=outcome, test="t", p_value=p, e_value=e,
                   alpha=0.05, requests=10)


def _run(outcomes: list[Outcome | None], recovery_runs: int = 1) -> list[tuple[State, str | None]]:
    state, quiet, seq, out = State.HEALTHY, 0, 0, []
    for i, o in enumerate(outcomes):
        step = suite_step(endpoint="cand", suite="toolcall", state=state, quiet=quiet, seq=seq,
                          verdict=None if o is None else _verdict(o, p=0.01), recovery_runs=recovery_runs,
                          tick_id=f"t{i}", at=AT, run_id=f"r{i}")
        state, quiet, seq = step.state, step.quiet, step.seq
        tr = step.transition
        out.append((state, None if tr is None else f"{tr.from_state}>{tr.to_state}:{tr.run_id}:{tr.seq}"))
    return out


def test_a_fail_is_changed_and_passes_recover_by_the_state_machine() -> None:
    P, F, INC, ERR = Outcome.PASS, Outcome.FAIL, Outcome.INCONCLUSIVE, Outcome.ERROR
    assert _run([P, F, ERR, None, INC, P, P, INC]) == [
        (State.HEALTHY, None), (State.CHANGED, "healthy>changed:r1:1"),
        (State.CHANGED, None), (State.CHANGED, None),  # the run could not judge: no evidence either way
        (State.RECOVERING, "changed>recovering:r4:2"), (State.HEALTHY, "recovering>healthy:r5:3"),
        (State.HEALTHY, None), (State.HEALTHY, None)]
    # A fail while recovering is changed again; a fail while changed restarts the quiet count.
    assert [s for s, _ in _run([F, P, F, P, P, F, P, P, P, P], recovery_runs=2)] == [
        State.CHANGED, State.CHANGED, State.CHANGED, State.CHANGED, State.RECOVERING, State.CHANGED,
        State.CHANGED, State.RECOVERING, State.RECOVERING, State.HEALTHY]


def test_the_statistic_is_the_verdicts_evidence() -> None:
    assert suite_statistic(_verdict(Outcome.FAIL, e=250.0, p=0.5)) == 250.0
    assert suite_statistic(_verdict(Outcome.FAIL, p=0.002)) == 500.0
    assert suite_statistic(_verdict(Outcome.PASS, p=1.0)) == 1.0
    assert suite_statistic(_verdict(Outcome.FAIL, p=0.0)) == 1e300
    assert suite_statistic(None) == 1.0


async def test_a_failed_scheduled_run_is_changed_for_its_suite_then_recovers(tmp_path: Path) -> None:
    w = World(tmp_path, suites={"toolcall": {"period_hours": 1, "limit": 8}}, sentinel={"canary": False})
    w.served["cand"].calls = False  # stops calling tools: the toolcall suite fails (the sentinel cannot see it)
    svc = w.service()
    first = [r for r in await w.minutes(svc, 2) if r.stream == "toolcall"]
    assert [(r.verdicts["cand"], r.state) for r in first] == [("fail", State.CHANGED)]
    assert svc.states()[("cand", "toolcall")] is State.CHANGED
    assert svc.states()[("cand", "sentinel")] is State.HEALTHY
    (tr,) = svc.store.transitions("cand")[-1:]
    assert (tr.suite, tr.to_state, tr.run_id, tr.verdict) == ("toolcall", State.CHANGED, first[0].run_id, "fail")
    assert tr.statistic == first[0].statistic and tr.statistic >= tr.threshold == 20.0
    assert tr.evidence_ticks == [first[0].id] and tr.reference_state is State.HEALTHY
    alert = next(a for a in svc.store.alerts() if a.key == tr.id)
    assert alert.body["state"] == "changed" and alert.body["evidence"]["run"] == first[0].run_id
    w.served["cand"].calls = True  # fixed: no longer fails, recovering after one run, healthy after two
    later = [r for r in await w.minutes(svc, 125) if r.stream == "toolcall"]
    await svc.aclose()
    # Not failing (a pass, or inconclusive at this limit) is quiet: recovering, then healthy.
    assert [r.verdicts["cand"] != "fail" for r in later] == [True, True]
    assert [r.state for r in later] == [State.RECOVERING, State.HEALTHY]
    suite_trs = [t for t in svc.store.transitions("cand") if t.suite == "toolcall"]
    assert [(t.to_state, t.run_id) for t in suite_trs] == [
        (State.CHANGED, first[0].run_id), (State.RECOVERING, later[0].run_id), (State.HEALTHY, later[1].run_id)]
    # A restart reads the suite's state back from the store.
    assert w.service().store.state("cand", "toolcall").state is State.HEALTHY  # type: ignore[union-attr]

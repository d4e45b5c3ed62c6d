"""An endpoint configured for logprobs that answers without them is switched to the black-box sentinel."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.watch import REFERENCE_STREAM, SENTINEL, State
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

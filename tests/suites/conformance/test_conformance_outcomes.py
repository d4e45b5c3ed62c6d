"""Unsupported and inconclusive outcomes, the reference's row, resume, and the public surface."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helpers import make_config, transports

from parity.fake import Answer, FakeEndpoint, HttpError, Script, compliant_script, tampered
from parity.runner import Runner
from parity.store import Store
from parity.suites import get_suite
from parity.suites.conformance import ConformanceSuite
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict


def probe(verdict: Verdict, name: str) -> ProbeResult:
    return next(p for p in verdict.probes if p.name == name)


def rejecting(key: str) -> Script:
    """A server that refuses a parameter with a 400, as an honest server does."""
    base = compliant_script()
    return lambda b: HttpError(400, f"'{key}' is not supported") if key in b else base(b)


async def test_a_400_is_unsupported_not_a_failure(run_conformance: Any) -> None:
    verdicts = await run_conformance({"cand": rejecting("logprobs")})
    result = probe(verdicts["cand"], "params.logprobs")
    assert result.outcome is ProbeOutcome.UNSUPPORTED and "HTTP 400" in result.reason
    assert verdicts["cand"].verdict is Outcome.PASS
    assert any("params.logprobs unsupported" in r for r in verdicts["cand"].reasons)


async def test_a_rule_the_reference_breaks_too_is_not_applicable(run_conformance: Any) -> None:
    def one_choice(b: dict[str, Any], a: Answer) -> Answer:
        if int(b.get("n") or 1) == 1:
            return a
        return replace(a, extra={"choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": a.content}}]})

    def no_n() -> Script:
        return tampered(compliant_script(), after=one_choice)

    verdicts = await run_conformance({"cand": no_n()}, reference=no_n())
    assert probe(verdicts["ref"], "params.n").outcome is ProbeOutcome.FAIL  # its own row shows it
    cand = probe(verdicts["cand"], "params.n")
    assert cand.outcome is ProbeOutcome.NOT_APPLICABLE and "the reference fails it too" in cand.reason
    assert verdicts["cand"].verdict is Outcome.PASS  # otherwise clean: not made inconclusive by it
    assert any("params.n not applicable: the reference fails it too" in r for r in verdicts["cand"].reasons)


async def test_tools_reach_prompt_is_not_applicable_when_the_reference_never_calls(
    run_conformance: Any,
) -> None:
    def never_calls() -> Script:
        return tampered(compliant_script(), before=lambda b: {k: v for k, v in b.items() if k != "tools"})

    verdicts = await run_conformance({"cand": never_calls()}, reference=never_calls())
    assert probe(verdicts["ref"], "tools.reach_prompt").outcome is ProbeOutcome.INCONCLUSIVE
    assert probe(verdicts["cand"], "tools.reach_prompt").outcome is ProbeOutcome.NOT_APPLICABLE
    assert probe(verdicts["cand"], "tool_call.parallel").outcome is ProbeOutcome.NOT_APPLICABLE


async def test_server_errors_are_inconclusive(run_conformance: Any) -> None:
    verdicts = await run_conformance({"down": lambda b: HttpError(503)})
    down = verdicts["down"]
    # each probe cannot tell; the verdict says the run could not judge the endpoint (issue 17)
    assert down.verdict is Outcome.ERROR and down.reasons[0].startswith("error: failing")
    assert probe(down, "params.n").outcome is ProbeOutcome.INCONCLUSIVE


async def test_a_second_turn_is_built_once_and_resume_sends_nothing(store: Store) -> None:
    apps = {"ref": FakeEndpoint(compliant_script()), "cand": FakeEndpoint(compliant_script())}
    cfg = make_config("ref", "cand")
    suite = ConformanceSuite()
    runner = Runner(cfg, [suite], store, transport=transports(apps))
    run, _ = runner.start()
    first = await runner.run(run)
    sent = len(apps["cand"].requests)
    second = await runner.run(run)
    assert second.sent == {"ref": 0, "cand": 0} and len(apps["cand"].requests) == sent
    assert [v.model_dump() for v in second.verdicts] == [v.model_dump() for v in first.verdicts]
    turn2 = [b for b in apps["cand"].requests if b["messages"][-1].get("role") == "tool"
             and "Berlin" in b["messages"][1]["content"]]  # tool_call.round_trip's second turn
    assert len(turn2) == 1
    assistant = turn2[0]["messages"][-2]
    assert assistant["tool_calls"][0]["id"] == turn2[0]["messages"][-1]["tool_call_id"]


async def test_evidence_never_carries_headers_or_keys(store: Store) -> None:
    apps = {"ref": FakeEndpoint(compliant_script()),
            "cand": FakeEndpoint(tampered(compliant_script(), before=lambda b: {**b, "temperature": 0.8}))}
    cfg = make_config("ref", "cand", api_key_env="PARITY_TEST_KEY")
    result = await Runner(cfg, [ConformanceSuite()], store, transport=transports(apps),
                          keys={"ref": "sk-secret-1", "cand": "sk-secret-2"}).run()
    text = "".join(v.model_dump_json() for v in result.verdicts)
    assert "sk-secret" not in text and "authorization" not in text.lower()
    assert apps["cand"].headers[0]["authorization"] == "Bearer sk-secret-2"


def test_registered_and_selectable() -> None:
    suite = get_suite("conformance", only=["sampling"])
    assert isinstance(suite, ConformanceSuite)
    assert {p.name.split(".")[0] for p in suite.probes} == {"sampling"}
    assert suite.dataset_hash() != ConformanceSuite().dataset_hash()


def test_case_ids_and_bodies_are_unique_and_named_after_probes() -> None:
    suite = ConformanceSuite()
    assert len({c.id for c in suite.cases}) == len(suite.cases)
    assert len({c.hash for c in suite.cases}) == len(suite.cases)
    names = {p.name for p in suite.probes}
    assert all(c.id.rsplit("/", 1)[0] in names for c in suite.cases)



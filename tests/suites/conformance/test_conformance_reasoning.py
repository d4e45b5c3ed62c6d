"""The reasoning probes against fake endpoints that think: a server that does it right passes;
each way of getting it wrong is caught by name when the reference thinks; when the reference
does not think (like the testbed's SmolLM2-135M), the probes are unsupported / not applicable."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from parity.fake import Answer, HttpError, Script, compliant_script
from parity.suites.conformance._reasoning import CODEWORD
from parity.verdict import Outcome, ProbeOutcome

from .test_conformance_suite import probe


def _thinking_on(body: dict[str, Any]) -> bool:
    kwargs = body.get("chat_template_kwargs") or {}
    return bool(kwargs.get("enable_thinking"))


def thinking(*, ignore_switch: bool = False, drop_echo: bool = False, reject_echo: bool = False,
             drop_reasoning: bool = False, call_in_reasoning: bool = False) -> Script:
    """The compliant fake, plus reasoning_content when thinking is on; it uses what an echoed
    assistant turn's reasoning says (a codeword), as a thinking model's template lets it."""
    base = compliant_script()

    def script(body: dict[str, Any]) -> Any:
        echoed = " ".join(str(m.get("reasoning_content") or "") for m in body.get("messages") or [])
        if echoed and reject_echo:
            return HttpError(400, "unknown field reasoning_content")
        a = base(body)
        if not isinstance(a, Answer) or not (_thinking_on(body) or ignore_switch) or drop_reasoning:
            return a
        if CODEWORD in echoed and not drop_echo:
            return replace(a, content=f"It is cloudy in Lima. The codeword is {CODEWORD}.", calls=())
        if call_in_reasoning and a.calls:  # the server's reasoning parser swallowed the call
            raw = "".join(f'<tool_call>\n{{"name": "{c.name}", "arguments": {c.arguments}}}\n</tool_call>'
                          for c in a.calls)
            return replace(a, reasoning_content="Paris it is. " + raw, calls=(), finish_reason="stop")
        return replace(a, reasoning_content="Let me work it out step by step.")
    return script


REASONING_FAILING: list[tuple[str, str, Script]] = [
    ("reasoning.switch", "reasoning_dropped", thinking(drop_reasoning=True)),
    ("reasoning.switch", "switch_ignored", thinking(ignore_switch=True)),
    ("reasoning.echo", "echo_not_used", thinking(drop_echo=True)),
    ("reasoning.echo", "echo_rejected", thinking(reject_echo=True)),
    ("reasoning.then_call", "reasoning_dropped_with_calls", thinking(drop_reasoning=True)),
    ("reasoning.then_call", "call_left_in_reasoning", thinking(call_in_reasoning=True)),
]


async def test_a_thinking_server_passes_the_reasoning_probes(run_conformance: Any) -> None:
    verdicts = await run_conformance({"cand": thinking()}, reference=thinking())
    for name in ("reasoning.switch", "reasoning.echo", "reasoning.then_call", "content.reasoning_delimiters"):
        assert probe(verdicts["cand"], name).outcome is ProbeOutcome.PASS, probe(verdicts["cand"], name)
        assert probe(verdicts["ref"], name).outcome is ProbeOutcome.PASS
    assert verdicts["cand"].verdict is Outcome.PASS


@pytest.mark.parametrize(("name", "fault", "script"), REASONING_FAILING,
                         ids=[f"{n}-{f}" for n, f, _ in REASONING_FAILING])
async def test_reasoning_probe_catches_its_fault(run_conformance: Any, name: str, fault: str,
                                                 script: Script) -> None:
    verdict = (await run_conformance({"cand": script}, reference=thinking()))["cand"]
    result = probe(verdict, name)
    assert result.outcome is ProbeOutcome.FAIL, result
    assert verdict.verdict is Outcome.FAIL and name in verdict.failing_checks


async def test_no_reasoning_anywhere_is_not_applicable_not_inconclusive(run_conformance: Any) -> None:
    verdicts = await run_conformance({"cand": compliant_script()})
    for name in ("reasoning.switch", "reasoning.echo", "reasoning.then_call"):
        assert probe(verdicts["ref"], name).outcome is ProbeOutcome.UNSUPPORTED
        cand = probe(verdicts["cand"], name)
        assert cand.outcome is ProbeOutcome.NOT_APPLICABLE and "the reference cannot exercise" in cand.reason
    assert verdicts["cand"].verdict is Outcome.PASS


def _never_calls() -> Script:
    """A model that answers in words whatever the tools (like the testbed's SmolLM2-135M)."""
    base = compliant_script()

    def script(body: dict[str, Any]) -> Any:
        a = base(body)
        return replace(a, calls=(), content=a.content or "I would rather say it in words.",
                       finish_reason=None) if isinstance(a, Answer) and a.calls else a
    return script


async def test_probes_the_reference_gives_nothing_to_judge_are_not_applicable(run_conformance: Any) -> None:
    verdicts = await run_conformance({"cand": _never_calls()}, reference=_never_calls())
    for name in ("tool_call.round_trip", "tool_call.well_formed"):
        assert probe(verdicts["ref"], name).outcome is ProbeOutcome.INCONCLUSIVE  # its own row: could not tell
        cand = probe(verdicts["cand"], name)
        assert cand.outcome is ProbeOutcome.NOT_APPLICABLE, cand
    outcomes = {p.name: p.outcome for p in verdicts["cand"].probes}
    assert ProbeOutcome.INCONCLUSIVE not in outcomes.values(), outcomes
    assert verdicts["cand"].verdict is Outcome.PASS  # a clean candidate stays clean

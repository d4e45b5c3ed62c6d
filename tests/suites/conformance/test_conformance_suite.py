"""The conformance suite end to end against fake endpoints: a healthy server passes every
probe; each probe has a server that breaks exactly what it checks, and catches it by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from parity.evidence import ExchangeExcerpt
from parity.fake import Answer, Call, HttpError, Script, compliant_script, tampered
from parity.suites.conformance import BUDGET, ConformanceSuite
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict

REASONING_PROBES = ("reasoning.switch", "reasoning.echo", "reasoning.then_call")


def broken(pre: Any = None, post: Any = None) -> Script:
    """The well-behaved fake with a parameter ignored (``pre``) or its answer faulted (``post``)."""
    return tampered(compliant_script(), before=pre, after=post)


def without(*keys: str, when: Callable[[Any], bool] = lambda v: True) -> Any:
    """A server that ignores ``keys`` (when their value matches ``when``)."""
    return lambda b: {k: v for k, v in b.items() if k not in keys or not when(v)}


def probe(verdict: Verdict, name: str) -> ProbeResult:
    return next(p for p in verdict.probes if p.name == name)


def _when_calls(change: dict[str, Any]) -> Any:
    return lambda b, a: replace(a, **change) if a.calls else a


def _calls_args(args: str, name: str | None = None) -> Any:
    def post(b: dict[str, Any], a: Answer) -> Answer:
        if not a.calls:
            return a
        return replace(a, calls=tuple(Call(name or c.name, args, c.id) for c in a.calls))
    return post


def _args_of(tool: str, args: str) -> Any:
    """Calls to ``tool`` come back with ``args`` instead."""
    def post(b: dict[str, Any], a: Answer) -> Answer:
        return replace(a, calls=tuple(Call(c.name, args, c.id) if c.name == tool else c for c in a.calls))
    return post


def _one_choice(b: dict[str, Any], a: Answer) -> Answer:
    if int(b.get("n") or 1) == 1:
        return a
    choice = {"index": 0, "message": {"role": "assistant", "content": a.content},
              "finish_reason": "stop"}
    return replace(a, extra={"choices": [choice]})


def _override_sampling(b: dict[str, Any]) -> dict[str, Any]:
    """What the fault proxy's sampling_override does: the server's sampling, not the client's."""
    return {**b, "temperature": 0.8, "top_p": 0.95, "presence_penalty": 0.0, "frequency_penalty": 0.0}


def _truncate(b: dict[str, Any]) -> dict[str, Any]:
    """Keep the last 2,000 characters of each message, as a left-truncating server."""
    msgs = [{**m, "content": m["content"][-2000:]} if isinstance(m.get("content"), str) else m
            for m in b.get("messages") or []]
    return {**b, "messages": msgs}


def _markup(b: dict[str, Any], a: Answer) -> Answer:
    if not a.calls:
        return a
    text = "\n".join(f'<tool_call>\n{{"name": "{c.name}", "arguments": {c.arguments}}}\n</tool_call>'
                     for c in a.calls)
    return replace(a, content=text, calls=(), finish_reason="stop")


def _second_turn_rejected() -> Script:
    base = compliant_script()

    def script(body: dict[str, Any]) -> Any:
        if body["messages"][-1].get("role") == "tool":
            return HttpError(400, "tool_call_id not found")
        return base(body)
    return script


def _usage_plus(n: int, streamed_only: bool) -> Any:
    def post(b: dict[str, Any], a: Answer) -> Answer:
        if a.usage is None or (streamed_only and not b.get("stream")):
            return a
        return replace(a, usage={**a.usage, "prompt_tokens": a.usage["prompt_tokens"] + n,
                                 "total_tokens": a.usage["total_tokens"] + n})
    return post


# probe name -> servers that break what it checks (a few probes have several faults).
FAILING: list[tuple[str, str, Script]] = [
    ("finish_reason.max_tokens_length", "stop_at_max_tokens_1",
     broken(post=lambda b, a: replace(a, finish_reason="stop") if b.get("max_tokens") == 1 else a)),
    ("params.max_tokens", "max_tokens_ignored", broken(pre=without("max_tokens"))),
    ("finish_reason.consistent", "stop_with_calls", broken(post=_when_calls({"finish_reason": "stop"}))),
    ("params.stop", "stop_ignored", broken(pre=without("stop"))),
    ("params.n", "n_ignored", broken(post=_one_choice)),
    ("params.logprobs", "logprobs_ignored", broken(pre=without("logprobs", "top_logprobs"))),
    ("params.response_format", "response_format_ignored", broken(pre=without("response_format"))),
    ("stream.answer_equivalent", "stream_differs",
     broken(post=lambda b, a: replace(a, content=a.content + " more") if b.get("stream") and a.content else a)),
    ("stream.tool_calls_equivalent", "stream_lost_delta",
     broken(post=lambda b, a: replace(a, drop_tool_delta=1) if b.get("stream") and a.calls else a)),
    ("stream.tool_calls_equivalent", "stream_duplicate_delta",
     broken(post=lambda b, a: replace(a, duplicate_tool_delta=1) if b.get("stream") and a.calls else a)),
    ("usage.consistent", "stream_usage_differs", broken(post=_usage_plus(5, streamed_only=True))),
    ("tool_choice.none", "none_ignored", broken(pre=without("tool_choice", when=lambda v: v == "none"))),
    ("tool_choice.auto", "auto_means_none",
     broken(pre=lambda b: {**b, "tool_choice": "none"} if b.get("tool_choice") == "auto" else b)),
    ("tool_choice.required", "required_ignored",
     broken(pre=lambda b: {**b, "tool_choice": "none"} if b.get("tool_choice") == "required" else b)),
    ("tool_choice.named", "named_ignored",
     broken(pre=without("tool_choice", when=lambda v: isinstance(v, dict)))),
    ("tools.reach_prompt", "tools_dropped", broken(pre=without("tools", "tool_choice"))),
    ("tool_call.round_trip", "second_turn_rejected", _second_turn_rejected()),
    ("tool_call.round_trip", "bad_ids",
     broken(post=lambda b, a: replace(a, calls=tuple(replace(c, id="call 0!") for c in a.calls)))),
    ("tool_call.parallel", "parallel_merged", broken(pre=without("parallel_tool_calls"))),
    ("tool_call.well_formed", "invalid_json", broken(post=_calls_args('{"city": "Par'))),
    ("tool_call.well_formed", "unknown_name", broken(post=_calls_args("{}", name="functions.lookup"))),
    ("tool_call.well_formed", "schema_mismatch", broken(post=_calls_args('{"city": 5, "ticker": 5}'))),
    ("sampling.temperature_zero", "sampling_override", broken(pre=_override_sampling)),
    ("sampling.temperature_high", "always_greedy", broken(pre=lambda b: {**b, "temperature": 0})),
    ("sampling.top_p", "top_p_ignored", broken(pre=without("top_p"))),
    ("sampling.seed", "seed_ignored", broken(pre=without("seed"))),
    ("sampling.penalties", "penalties_ignored", broken(pre=without("frequency_penalty", "presence_penalty"))),
    ("prompt.template_tokens", "template_drift", broken(post=_usage_plus(3, streamed_only=False))),
    ("context.needle", "context_truncation", broken(pre=_truncate)),
    ("content.foreign_script", "foreign_script",
     broken(post=lambda b, a: replace(a, content=a.content + " สวัสดีครับ") if a.content else a)),
    ("content.leaked_markup", "markup_leak", broken(post=_markup)),
    ("content.reasoning_delimiters", "think_in_content",
     broken(post=lambda b, a: replace(a, content="<think>\nHmm.\n</think>\n\n" + a.content) if a.content else a)),
    ("tool_call.no_arguments", "no_arguments_broken", broken(post=_args_of("get_utc_time", "{"))),
    ("tool_call.unicode_nested", "nested_dropped", broken(post=_args_of("book_trip", '{"traveller": {}}'))),
    ("tool_call.parallel_streamed", "parallel_merged_when_streamed",
     broken(post=lambda b, a: replace(a, calls=a.calls[:1]) if b.get("stream") and len(a.calls) > 1 else a)),
]


async def test_compliant_server_passes_every_probe_within_budget(run_conformance: Any) -> None:
    suite = ConformanceSuite()
    assert suite.planned(None, None) <= BUDGET  # type: ignore[arg-type]
    verdicts = await run_conformance({"replica": compliant_script()}, suite=suite)
    ref, replica = verdicts["ref"], verdicts["replica"]
    not_passing = {p.name: p.outcome for p in replica.probes if p.outcome is not ProbeOutcome.PASS}
    # the fake does not reason, like the testbed's model: the reasoning probes cannot be exercised
    assert not_passing == {n: ProbeOutcome.NOT_APPLICABLE for n in REASONING_PROBES}
    assert replica.verdict is Outcome.PASS and replica.failing_checks == []
    assert ref.verdict is Outcome.REFERENCE
    assert {p.name: p.outcome for p in ref.probes if p.outcome is not ProbeOutcome.PASS} == {
        n: ProbeOutcome.UNSUPPORTED for n in REASONING_PROBES}
    assert replica.requests == ref.requests == replica.reference_requests <= BUDGET
    assert replica.test.startswith("all probes pass")
    assert sum(p.requests for p in replica.probes) == replica.requests
    assert {p.name for p in replica.probes} == {p.name for p in suite.probes}


@pytest.mark.parametrize(("name", "fault", "script"), FAILING, ids=[f"{n}-{f}" for n, f, _ in FAILING])
async def test_probe_catches_its_fault(run_conformance: Any, name: str, fault: str, script: Script) -> None:
    verdict = (await run_conformance({"cand": script}))["cand"]
    result = probe(verdict, name)
    assert result.outcome is ProbeOutcome.FAIL, result
    assert verdict.verdict is Outcome.FAIL and name in verdict.failing_checks
    assert result.reason and result.evidence
    assert all(isinstance(e, ExchangeExcerpt) and e.request is not None for e in result.evidence)
    assert any(isinstance(e, ExchangeExcerpt) and e.probe == name for e in verdict.evidence)


def test_every_probe_has_a_failing_case() -> None:
    from .test_conformance_reasoning import REASONING_FAILING

    assert {p.name for p in ConformanceSuite().probes} == {n for n, _, _ in [*FAILING, *REASONING_FAILING]}

"""The demo's closing words: each endpoint's verdicts and, for each failure, its own named reason."""

from __future__ import annotations

from parity.cli._explain import explain
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict


def _v(endpoint: str, suite: str, outcome: Outcome, **kw: object) -> Verdict:
    return Verdict(endpoint=endpoint, suite=suite, verdict=outcome, test="t", alpha=0.05, requests=1, **kw)  # type: ignore[arg-type]


def _probe(name: str, outcome: ProbeOutcome, reason: str = "") -> ProbeResult:
    return ProbeResult(name=name, description="d", outcome=outcome, reason=reason)


VERDICTS = [
    _v("q2", "equality", Outcome.FAIL, failing_checks=["mmd"],
       reasons=["answers differ from the reference's: MMD p=0.001"]),
    _v("q2", "conformance", Outcome.FAIL, probes=[
        _probe("content.foreign_script", ProbeOutcome.FAIL, "3 of 4 answers hold Thai characters"),
        _probe("reasoning.echo", ProbeOutcome.NOT_APPLICABLE, "not applicable: the reference cannot exercise it"),
        _probe("finish_reason.length", ProbeOutcome.PASS)]),
    _v("replica", "conformance", Outcome.PASS, probes=[
        _probe("reasoning.echo", ProbeOutcome.NOT_APPLICABLE, "not applicable: the reference cannot exercise it"),
        _probe("finish_reason.length", ProbeOutcome.PASS)]),
    _v("replica", "equality", Outcome.PASS),
    _v("reference", "equality", Outcome.REFERENCE),
    _v("reference", "conformance", Outcome.REFERENCE, probes=[
        _probe("tool_choice.required", ProbeOutcome.FAIL), _probe("reasoning.echo", ProbeOutcome.UNSUPPORTED)]),
    _v("template", "toolcall", Outcome.FAIL, failing_checks=["propensity"],
       reasons=["calls tools on 0 of 10 cases where the reference calls on 9"]),
]


def test_each_endpoint_is_explained_in_order_with_its_reasons() -> None:
    lines = explain(VERDICTS, {"replica": "identical to reference", "q2": "requantized to Q2_K"})
    text = "\n".join(lines)
    heads = [ln.strip().split(" ")[0].rstrip(":") for ln in lines if ln.startswith("  ") and not ln.startswith("   ")
             and not ln.startswith("  (")]
    assert heads == ["reference", "replica", "q2", "template"]  # reference, passes, then failures
    assert "replica (identical to reference): passes" in text
    assert "q2 (requantized to Q2_K): FAILS conformance, equality" in text
    assert "why: content.foreign_script: 3 of 4 answers hold Thai characters" in text
    assert "why: mmd: answers differ from the reference's" in text
    assert "why: propensity: calls tools on 0 of 10" in text
    # not applicable is counted apart, and explained once
    assert "conformance: pass (1 pass, 1 not applicable)" in text
    assert "note: the reference fails tool_choice.required and cannot do 1 probe(s) (unsupported)" in text
    assert "why: reasoning.echo" not in text and text.count("(not applicable: a probe the reference") == 1

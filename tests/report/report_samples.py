"""Sample run and verdicts built by hand: a reference, a pass, a fail with hostile excerpts, an inconclusive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from parity.evidence import (
    ExchangeExcerpt,
    MessageExcerpt,
    RequestExcerpt,
    ResponseExcerpt,
    ToolCallExcerpt,
)
from parity.exchange import ExchangeStatus
from parity.stats import newcombe_diff, paired_diff, wilson
from parity.store import RunRecord
from parity.verdict import Estimate, Outcome, ProbeOutcome, ProbeResult, TestResult, Verdict

SCRIPT = "<script>alert('pwned')</script>"
HOSTILE = f"{SCRIPT} | pipe | ``` fence ``` <img src=https://evil.example/x.png>"


def make_run(**over: Any) -> RunRecord:
    data: dict[str, Any] = {
        "id": "run-20250101-120000-abc123",
        "fingerprint": "f" * 64,
        "status": "complete",
        "created_at": datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        "finished_at": datetime(2025, 1, 1, 12, 5, tzinfo=UTC),
        "parity_version": "0.1.0",
        "seed": 7,
        "reference": "ref",
        "suites": ["toolcall", "conformance"],
        "datasets": {"toolcall": "sha256:" + "a" * 16, "conformance": "sha256:" + "b" * 16},
        "config": {
            "endpoints": [
                {"name": "ref", "model": "qwen3-8b", "reference": True, "declared": {"engine": "vllm"}},
                {"name": "q8", "model": "qwen3-8b", "declared": {"quantization": "Q8_0"}},
            ],
            "run": {"alpha": 0.05, "seed": 7, "margin": 0.1},
        },
    }
    data.update(over)
    return RunRecord.model_validate(data)


def _toolcall_metrics(errors: int, n: int = 40) -> dict[str, Estimate]:
    return {
        "request_failure_rate": wilson(0, n),
        "propensity": wilson(22, n),
        "finish_tool_calls": wilson(22, n),
        "rate.tool_call.invalid_json": wilson(errors, n),
        "schema_accuracy": wilson(22 - errors, 22),
        "trigger_agreement": Estimate(value=0.95, low=0.875, high=1.0, n=n, method="bootstrap-percentile"),
        "k2vv_similarity": Estimate(value=0.9, low=0.85, high=0.97, n=n, method="bootstrap-percentile"),
    }


def _effects(errors: int, n: int = 40) -> dict[str, Estimate]:
    return {
        "trigger_rate_diff": paired_diff(1, 1, n),
        "excess_disagreement": paired_diff(2, 1, n),
        "toolcall_error_diff": newcombe_diff(errors, n, 0, n),
        "request_failure_diff": newcombe_diff(0, n, 0, n),
        "reference_self_agreement": wilson(38, 40),
    }


def _tests(p_err: float, rejected: bool) -> list[TestResult]:
    return [
        TestResult(name="trigger_shift", p_value=1.0, p_adjusted=1.0, detail={"b": 1, "c": 1, "pairs": 40}),
        TestResult(name="toolcall_errors", p_value=p_err, p_adjusted=min(1.0, p_err * 4),
                   rejected=rejected, detail={"k": 9, "n": 40, "k_ref": 0, "n_ref": 40}),
    ]


def _candidate(name: str, outcome: Outcome, errors: int, **over: Any) -> Verdict:
    fields: dict[str, Any] = {
        "endpoint": name, "suite": "toolcall", "verdict": outcome, "test": "Holm(McNemar exact x2, Fisher exact x2)",
        "p_value": 0.5, "alpha": 0.05, "requests": 40, "reference_requests": 80,
        "metrics": {**_toolcall_metrics(errors), **_effects(errors)}, "tests": _tests(0.5, False),
    }
    fields.update(over)
    return Verdict(**fields)


def make_verdicts() -> list[Verdict]:
    ref = Verdict(endpoint="ref", suite="toolcall", verdict=Outcome.REFERENCE,
                  test="reference (run twice: its self-agreement is the noise floor)", alpha=0.05,
                  requests=80, metrics=_toolcall_metrics(0, 80),
                  reasons=["the reference deployment; candidates are judged against it"])
    fail = _candidate(
        "q4-broken", Outcome.FAIL, 9, p_value=0.0004, tests=_tests(0.0001, True),
        reasons=[f"more tool-call errors than the reference: tool_call.invalid_json x9 (reference x0) {SCRIPT}"],
        failing_checks=["tool_call.invalid_json"],
        evidence=[ExchangeExcerpt(
            check="tool_call.invalid_json", case_id="weather-3", repeat=0,
            message="arguments are not JSON: Expecting ',' delimiter",
            request=RequestExcerpt(params={"temperature": 0}, messages=1, tools=["get_weather"],
                                   last_message=MessageExcerpt(role="user", content=f"Weather in {SCRIPT}?")),
            response=ResponseExcerpt(
                status=ExchangeStatus.OK, http_status=200, content=HOSTILE, finish_reason="tool_calls",
                tool_calls=[ToolCallExcerpt(name="get_weather", arguments='{"city": "Paris" "unit": "c"}')]),
        )],
    )
    passing = _candidate("q8", Outcome.PASS, 0, metrics={
        **_toolcall_metrics(0), **_effects(0),
        "trigger_rate_diff": Estimate(value=0.0, low=-0.05, high=0.05, n=40, method="paired-wald"),
        "excess_disagreement": Estimate(value=0.0, low=-0.04, high=0.06, n=40, method="paired-wald")})
    inconclusive = _candidate("tiny", Outcome.INCONCLUSIVE, 1, requests=8, p_value=0.9)
    conformance = Verdict(
        endpoint="q8", suite="conformance", verdict=Outcome.PASS, test="sequential betting test",
        e_value=1.3, alpha=0.05, requests=12, reference_requests=12,
        metrics={"status_ok_rate": wilson(12, 12), "latency_ms": Estimate(value=812.0, low=700.5, high=950.0,
                                                                           n=12, method="t")},
        tests=[TestResult(name="betting", e_value=1.3, detail={"steps": 12})],
        probes=[
            ProbeResult(name="finish_reason.max_tokens_length", description="max_tokens cut → 'length'",
                        outcome=ProbeOutcome.PASS, requests=2),
            ProbeResult(name="params.logprobs", description="logprobs are returned when asked",
                        outcome=ProbeOutcome.FAIL, requests=2, reason="no logprobs in the answer",
                        evidence=[ExchangeExcerpt(
                            case_id="params.logprobs/ask", repeat=0, request=RequestExcerpt(params={"logprobs": True}),
                            response=ResponseExcerpt(status=ExchangeStatus.OK, content=SCRIPT))]),
            ProbeResult(name="params.seed", description="seed is accepted", outcome=ProbeOutcome.UNSUPPORTED),
        ],
    )
    return [ref, fail, passing, inconclusive, conformance]

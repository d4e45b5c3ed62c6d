"""The conformance probes that scan answers read them with the endpoint's declared family."""

from __future__ import annotations

from parity.config import EndpointConfig, RunSettings
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.suites._base import EvalContext
from parity.suites.conformance._probe import Steps
from parity.suites.conformance._reasoning import ReasoningDelimiters
from parity.suites.conformance.suite import ConformanceSuite
from parity.verdict import ProbeOutcome

PROBE = ReasoningDelimiters()


def _answer(endpoint: str, content: str) -> Exchange:
    # the probe scans every greedy answer of the suite, whichever probe asked for it
    return Exchange(status=ExchangeStatus.OK, run_id="r", endpoint=endpoint, suite="conformance",
                    case_id="some.probe/greeting", case_hash="h", request={"temperature": 0, "messages": []},
                    completion=Completion(content=content, finish_reason="stop"))


LEAK = "<think>the user greets me</think>Hello!"


def test_declared_family_is_named_first() -> None:
    ref = Steps([_answer("ref", "Hello!")])
    undeclared = PROBE.judge(Steps([_answer("cand", LEAK)]), ref)
    declared = PROBE.judge(Steps([_answer("cand", LEAK)], family="glm"), ref)
    assert undeclared.outcome is declared.outcome is ProbeOutcome.FAIL
    assert "'<think>' (kimi-k2," in undeclared.reason and "'<think>' (glm," in declared.reason


def test_the_suite_passes_each_endpoints_family() -> None:
    suite = ConformanceSuite([PROBE])
    endpoints = [EndpointConfig(name="ref", base_url="http://r.test/v1", model="m", reference=True),
                 EndpointConfig(name="cand", base_url="http://c.test/v1", model="m", declared={"family": "qwen3"})]
    ctx = EvalContext(reference="ref", endpoints=endpoints, settings=RunSettings(),
                      exchanges={"ref": [_answer("ref", "Hello!")], "cand": [_answer("cand", LEAK)]})
    (cand,) = [v for v in suite.evaluate(ctx) if v.endpoint == "cand"]
    assert "'<think>' (qwen3," in cand.probes[0].reason

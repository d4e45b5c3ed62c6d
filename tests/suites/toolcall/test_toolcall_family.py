"""The tool-call suite reads with the endpoint's declared chat-format family (``declared.family``)."""

from __future__ import annotations

from families.fixtures import CASES, TOOLS, emit

from parity.case import Case
from parity.config import EndpointConfig, RunSettings
from parity.evidence import ExchangeExcerpt
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.suites._base import EvalContext
from parity.suites.toolcall.suite import ToolcallSuite

V4 = next(c for c in CASES if c.family == "deepseek-v4")
CASES_SENT = [Case(id=f"weather-{i}", body={"messages": [{"role": "user", "content": f"Weather in city {i}?"}],
                                             "tools": TOOLS}, expected={"call": True}) for i in range(40)]


def _invoke_only() -> str:
    """A V4 call without its <｜DSML｜tool_calls> wrapper: the invoke block V3.2 and V4 share
    (cut from the official template's rendering), so only the declared family can name it."""
    text = emit(V4, [("get_weather", {"city": "Paris"})])
    start = text.index("<｜DSML｜invoke")
    end = text.index("</｜DSML｜invoke>") + len("</｜DSML｜invoke>")
    return text[start:end]


def _exchange(case: Case, endpoint: str, content: str, repeat: int = 0) -> Exchange:
    return Exchange(status=ExchangeStatus.OK, run_id="r", endpoint=endpoint, suite="toolcall", case_id=case.id,
                    case_hash=case.hash, repeat=repeat, request=case.body,
                    completion=Completion(content=content, finish_reason="stop"))


def _leak_families(declared: str | None) -> list[str]:
    suite = ToolcallSuite(CASES_SENT)
    endpoints = [EndpointConfig(name="ref", base_url="http://ref.test/v1", model="m", reference=True),
                 EndpointConfig(name="cand", base_url="http://cand.test/v1", model="m",
                                declared={"family": declared} if declared else {})]
    leak = _invoke_only()
    ctx = EvalContext(reference="ref", endpoints=endpoints, settings=RunSettings(), exchanges={
        "ref": [_exchange(c, "ref", "It is sunny.", r) for c in CASES_SENT for r in (0, 1)],
        "cand": [_exchange(c, "cand", leak) for c in CASES_SENT]})
    (verdict,) = [v for v in suite.evaluate(ctx) if v.endpoint == "cand"]
    assert "tool_call.markup_in_content" in verdict.failing_checks
    return sorted({e.message for e in verdict.evidence
                   if isinstance(e, ExchangeExcerpt) and e.check == "tool_call.markup_in_content"})


def test_declared_family_names_the_leak() -> None:
    assert _leak_families(None) == ["raw DeepSeek V3.2 (DSML) tool-call text ('<｜DSML｜invoke') left in content"]
    assert _leak_families("deepseek-v4") == [
        "raw DeepSeek V4 (DSML) tool-call text ('<｜DSML｜invoke') left in content"]

"""A tool call left as raw text, in flight: rejected and retried elsewhere, or repaired.

The leaked text is each family's own, rendered from its official chat
template (tests/families); streamed, it arrives in 4-character pieces, so
markers straddle chunks.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from families.fixtures import CASES, TOOLS, Case, emit

from parity.fake import Answer, FakeEndpoint, serve

from .conftest import make_config

CALL = [("get_weather", {"city": "Paris", "days": 3})]
BY_FAMILY = {c.family: c for c in CASES}  # one template per family


def _streamed(r: Any) -> str:
    out = []
    for line in r.text.splitlines():
        if line.startswith("data: {"):
            for c in orjson.loads(line[6:]).get("choices", []):
                out.append(c["delta"].get("content") or "")
    return "".join(out)


def _leaky(case: Case, prefix: str = "", **kw: Any) -> FakeEndpoint:
    text = prefix + emit(case, CALL)
    return FakeEndpoint(lambda b: Answer(content=text, **kw))


@pytest.mark.parametrize("case", BY_FAMILY.values(), ids=list(BY_FAMILY))
async def test_leaked_call_is_retried_elsewhere(harness: Any, case: Case) -> None:
    h = harness({"bad": _leaky(case), "ok": FakeEndpoint()},
                make_config(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}}))
    for stream in (False, True):
        r = await h.chat(tools=TOOLS, stream=stream)
        assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok", r.text
        assert r.headers["x-parity-attempts"] == "2" and "x-parity-repaired" not in r.headers
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="bad", outcome="tool_call_invalid") == 2
    assert h.total() == 2


@pytest.mark.parametrize("case", BY_FAMILY.values(), ids=list(BY_FAMILY))
async def test_leaked_call_is_repaired_when_the_alias_asks(harness: Any, case: Case) -> None:
    h = harness({"bad": _leaky(case)}, make_config(["bad"], alias={"repair_tool_calls": True}))
    r = await h.chat(tools=TOOLS)
    assert r.status_code == 200 and r.headers["x-parity-repaired"] == case.family
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and not choice["message"]["content"]
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 3}
    assert call["id"].startswith("call_")


async def test_declared_family_picks_the_parser(harness: Any) -> None:
    case = BY_FAMILY["deepseek-v3.1"]
    h = harness({"bad": _leaky(case)}, make_config(
        ["bad"], alias={"repair_tool_calls": True}, endpoint={"declared": {"family": "deepseek-v3.1"}}))
    assert h.gw.validator.families["bad"].name == "deepseek-v3.1"
    r = await h.chat(tools=TOOLS)
    assert r.headers["x-parity-repaired"] == "deepseek-v3.1"


async def test_repair_that_does_not_validate_is_not_served(harness: Any) -> None:
    narrow = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}]  # "days" is not allowed: the repaired call would be invalid
    h = harness({"bad": _leaky(BY_FAMILY["qwen3"])}, make_config(["bad"], alias={"repair_tool_calls": True}))
    r = await h.chat(tools=narrow)
    assert r.status_code == 502 and r.json()["error"]["code"] == "invalid_tool_call"
    assert "tool_call.markup_in_content" in r.json()["error"]["message"]


async def test_repair_is_off_by_default_and_keeps_prose(harness: Any) -> None:
    case = BY_FAMILY["mistral"]
    h = harness({"bad": _leaky(case, prefix="Let me check. ")})
    assert (await h.chat(tools=TOOLS)).status_code == 502
    on = harness({"bad": _leaky(case, prefix="Let me check. ")},
                 make_config(["bad"], alias={"repair_tool_calls": True}))
    msg = (await on.chat(tools=TOOLS)).json()["choices"][0]["message"]
    assert msg["content"] == "Let me check." and len(msg["tool_calls"]) == 1


async def test_clean_answers_pass_through(harness: Any) -> None:
    for content in ('{"name": "Paris", "temp": 21}', "Use <tool_call> tags, I did not call anything.",
                    "[link](https://example.com) and {braces}"):
        h = harness({"ok": FakeEndpoint(lambda b, c=content: Answer(content=c))})
        for stream in (False, True):
            r = await h.chat(tools=TOOLS, stream=stream)
            assert r.status_code == 200
            got = _streamed(r) if stream else r.json()["choices"][0]["message"]["content"]
            assert got == content


async def test_leak_after_streamed_text_ends_with_error(harness: Any) -> None:
    bad = _leaky(BY_FAMILY["gemma4"], prefix="Let me check the weather for you. ", chunk_delay_s=0.01)
    with serve(bad) as url:
        h = harness({}, make_config(["bad"], urls={"bad": url + "/v1"}))
        r = await h.chat(tools=TOOLS, stream=True)
    # the prose went out as it came; the frames with the call text (and the prose sharing them) did not
    sent = _streamed(r)
    assert "Let me check the weather for you. ".startswith(sent) and len(sent) >= 28, sent
    last = orjson.loads(r.text.strip().splitlines()[-1][6:])
    assert last["error"]["code"] == "tool_call_invalid"
    assert h.total() == 1


@pytest.mark.parametrize("case", [c for c in BY_FAMILY.values() if c.reasoning], ids=lambda c: c.family)
async def test_repair_moves_leaked_reasoning_to_its_field(harness: Any, case: Case) -> None:
    text = emit(case, CALL, reasoning=True)
    h = harness({"bad": FakeEndpoint(lambda b: Answer(content=text))},
                make_config(["bad"], alias={"repair_tool_calls": True}))
    msg = (await h.chat(tools=TOOLS)).json()["choices"][0]["message"]
    assert msg["reasoning_content"] == "The user wants Paris; I should call get_weather."
    assert msg["content"] is None


def _response(message: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {"id": "x", "choices": [{"index": i, "message": message, "finish_reason": "stop"} for i in range(n)]}


def test_validator_repairs_only_what_it_can_vouch_for() -> None:
    from parity.gateway._validation import ToolValidator

    v = ToolValidator(families={"e": "qwen3"}).repairing()
    text = emit(BY_FAMILY["qwen3"], CALL)
    fixed = v.repair(TOOLS, _response({"role": "assistant", "content": text}), "e")
    assert fixed is not None and fixed.family == "qwen3" and fixed.tool_calls == 1
    assert fixed.response["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert v.repair(TOOLS, _response({"role": "assistant", "content": text}, n=2), "e") is None  # n > 1
    mixed = {"role": "assistant", "content": text, "tool_calls": [{"id": "a", "function": {"name": "get_weather"}}]}
    assert v.repair(TOOLS, _response(mixed), "e") is None  # calls already there: not ours to merge
    other = [{"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}]
    assert v.repair(other, _response({"role": "assistant", "content": text}), "e") is None  # not offered
    assert v.repair(TOOLS, _response({"role": "assistant", "content": "It is sunny."}), "e") is None
    assert v.repairing() is v and ToolValidator().repairing().repairs


def test_stream_hold_decisions() -> None:
    from parity.gateway._validation import ToolValidator

    v = ToolValidator()
    assert not v.holds(["Hello", " world"], 1, tools=True)
    assert v.holds(["ok <tool", "_call>"], 1, tools=False)  # a marker across two pieces
    assert v.holds(['[get_weather(city="x")]'], 0, tools=True)  # a bare call needs tools offered
    assert not v.holds(['[get_weather(city="x")]'], 0, tools=False)
    assert v.holds([" ", "{"], 1, tools=True) and not v.holds(["a", "{"], 1, tools=True)
    assert v.may_hold(["Let me check <|tool_"]) and not v.may_hold(["Let me check."])

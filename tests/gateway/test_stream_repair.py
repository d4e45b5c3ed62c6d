"""Streamed repair: a tool call leaked as raw text in a stream becomes ``tool_calls`` deltas.

The upstream is a real HTTP server on 127.0.0.1 (the fake endpoint under
uvicorn) streaming each family's raw call text, rendered from the family's
official chat template, in 4-character pieces; the gateway's alias asks for
``repair_tool_calls``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from families.fixtures import CASES, REASONING, TOOLS, Case, emit

from parity.client import StreamAssembler, iter_sse_data
from parity.fake import Answer, FakeEndpoint, serve
from parity.families import find_delimiter_leak
from parity.gateway._stream_repair import repair_stream
from parity.gateway._validation import ToolValidator

from .conftest import make_config

CALL = [("get_weather", {"city": "Paris", "days": 3})]
TWO = [("get_weather", {"city": "Paris", "days": 3}), ("get_time", {})]
BY_FAMILY = {c.family: c for c in CASES}  # one template per family
REPAIR = {"repair_tool_calls": True}


def _read(text: str) -> tuple[dict[str, Any], list[str]]:
    """The reassembled answer and the stream's comment lines; [DONE] must end it."""
    asm = StreamAssembler()
    for payload in iter_sse_data(bytearray(), text.encode()):
        asm.feed(payload)
    assert asm.done, text[-300:]
    return asm.result()["choices"][0], [ln for ln in text.splitlines() if ln.startswith(":")]


async def _stream(harness: Any, fake: FakeEndpoint, alias: dict[str, Any] | None = None,
                  tools: list[dict[str, Any]] = TOOLS) -> Any:
    with serve(fake) as url:
        h = harness({}, make_config(["bad"], urls={"bad": url + "/v1"}, alias=alias))
        r = await h.chat(tools=tools, stream=True, stream_options={"include_usage": True})
    return h, r


@pytest.mark.parametrize("case", BY_FAMILY.values(), ids=list(BY_FAMILY))
async def test_each_familys_streamed_leak_is_repaired(harness: Any, case: Case) -> None:
    calls = TWO if case.parallel else CALL
    text = emit(case, calls)
    h, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=text, usage={
        "prompt_tokens": 7, "completion_tokens": 30, "total_tokens": 37})), REPAIR)
    assert r.status_code == 200, r.text
    choice, comments = _read(r.text)
    assert comments == [f": x-parity-repaired: {case.family}"]
    assert choice["finish_reason"] == "tool_calls"
    # the call (or the reasoning the template writes before it) began the answer and was held:
    # nothing had been sent, so the header could still go out, and no raw text reached the client
    assert r.headers["x-parity-repaired"] == case.family
    assert not choice["message"]["content"], choice
    got = [(c["function"]["name"], orjson.loads(c["function"]["arguments"])) for c in choice["message"]["tool_calls"]]
    assert got == [(n, a) for n, a in calls]
    assert all(c["id"].startswith("call_") and c["type"] == "function" for c in choice["message"]["tool_calls"])
    assert '"usage":{"prompt_tokens":7' in r.text
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="bad", outcome="ok") == 1


@pytest.mark.parametrize("case", [c for c in BY_FAMILY.values() if c.reasoning], ids=lambda c: c.family)
async def test_streamed_repair_moves_leaked_reasoning_to_its_field(harness: Any, case: Case) -> None:
    text = emit(case, CALL, reasoning=True)
    _, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=text)), REPAIR)
    choice, comments = _read(r.text)
    msg = choice["message"]
    assert len(msg["tool_calls"]) == 1 and comments == [f": x-parity-repaired: {case.family}"]
    if find_delimiter_leak(text[:len(text) - len(text.lstrip()) + 40]) is not None:
        # the turn opens with the delimiter: held from there, and moved as for a whole answer
        assert msg.get("reasoning_content") == REASONING and not msg["content"]
    else:
        # the opener is in the generation prompt: the reasoning streamed as text before its closer
        # showed what it was; it cannot be unsent, but the closer and the call are not sent raw
        assert msg["content"] == REASONING and "reasoning_content" not in msg


async def test_prose_already_sent_stays_and_the_call_follows(harness: Any) -> None:
    prose = "Let me check the weather for you. "
    text = prose + emit(BY_FAMILY["gemma4"], CALL)
    h, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=text, chunk_delay_s=0.01)), REPAIR)
    # the prose streamed as it came, so the header had gone before the call showed up: the
    # stream's comment (and the access log) note the repair
    assert "x-parity-repaired" not in r.headers
    choice, comments = _read(r.text)
    assert comments == [": x-parity-repaired: gemma4"]
    assert choice["message"]["content"] == prose.rstrip()  # every word once, nothing of the call
    assert choice["finish_reason"] == "tool_calls" and len(choice["message"]["tool_calls"]) == 1
    assert h.total() == 1


async def test_streamed_repair_is_off_by_default(harness: Any) -> None:
    text = emit(BY_FAMILY["qwen3"], CALL)
    _, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=text)))
    assert r.status_code == 502 and r.json()["error"]["code"] == "invalid_tool_call"


async def test_streamed_repair_that_does_not_validate_is_not_served(harness: Any) -> None:
    narrow = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}}}]
    text = emit(BY_FAMILY["qwen3"], CALL)  # "days" is not allowed by the request's schema
    _, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=text)), REPAIR, tools=narrow)
    assert r.status_code == 502 and r.json()["error"]["code"] == "invalid_tool_call"
    assert "tool_call.markup_in_content" in r.json()["error"]["message"]


async def test_clean_stream_is_untouched_when_repair_is_on(harness: Any) -> None:
    content = "Use <tool_call> tags, I did not call anything."
    _, r = await _stream(harness, FakeEndpoint(lambda b: Answer(content=content)), REPAIR)
    choice, comments = _read(r.text)
    assert choice["message"]["content"] == content and comments == [] and choice["finish_reason"] == "stop"
    assert "x-parity-repaired" not in r.headers


def _frames(*chunks: dict[str, Any]) -> list[bytes]:
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks]


def test_repair_never_repeats_or_unsends_text() -> None:
    v = ToolValidator(families={"e": "qwen3"}).repairing()
    text = emit(BY_FAMILY["qwen3"], CALL)
    chunks = [{"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": p}}]}
              for p in ("Checking", " now. ", text)]
    frames = _frames(*chunks, {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})

    def assembled() -> StreamAssembler:
        asm = StreamAssembler()
        for f in frames:
            asm.feed(f[6:])
        return asm

    # two pieces already sent: only the call (and no prose) replaces the held frames
    fixed = repair_stream(v, TOOLS, assembled(), frames[2:], "e")
    assert fixed is not None and fixed.family == "qwen3" and fixed.tool_calls == 1
    out = b"".join(fixed.frames)
    assert b"Checking" not in out and b"<tool_call>" not in out and out.endswith(b": x-parity-repaired: qwen3\n\n")
    # the word boundary with what was sent is kept
    fixed = repair_stream(v, TOOLS, assembled(), frames[1:], "e")
    assert fixed is not None and b'"content":" now."' in b"".join(fixed.frames)
    # the call text began in what was already sent: not repairable
    assert repair_stream(v, TOOLS, assembled(), frames[3:], "e") is None
    # a validator that does not repair, or nothing held
    assert repair_stream(ToolValidator(), TOOLS, assembled(), frames[2:], "e") is None
    assert repair_stream(v, TOOLS, assembled(), [], "e") is None


def test_the_openai_sdk_reads_a_repaired_stream() -> None:
    """Gateway and upstream both on 127.0.0.1; the SDK skips the comment and assembles the call."""
    from .test_sdk import sdk, served_gateway

    text = emit(BY_FAMILY["deepseek-v3.2"], CALL)
    with served_gateway({"bad": FakeEndpoint(lambda b: Answer(content=text))}, **REPAIR) as (url, _):
        stream = sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                  tools=TOOLS, stream=True)  # type: ignore[arg-type]
        chunks = list(stream)
    deltas = [tc for c in chunks for ch in c.choices for tc in (ch.delta.tool_calls or [])]
    assert [(d.function.name, d.function.arguments) for d in deltas if d.function] == [
        ("get_weather", '{"city":"Paris","days":3}')]
    assert [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason] == ["tool_calls"]
    assert not "".join(ch.delta.content or "" for c in chunks for ch in c.choices)

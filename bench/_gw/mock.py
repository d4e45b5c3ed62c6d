"""The mock upstream every target of the gateway bench calls (run as: gateway_overhead.py _upstream PORT).

It answers after UPSTREAM_DELAY_S with text and a valid tool call: whole, or
for ``stream: true`` as SSE in groups STREAM_GAP_S apart. A body containing
ECHO makes it reflect the secret header value (what the scrubber is for).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
BODY = {"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS}
MODES: dict[str, dict[str, Any]] = {"whole": BODY, "stream": {**BODY, "stream": True}}
UPSTREAM_DELAY_S = 0.020
STREAM_GAP_S = 0.002
# Both proxies check this key (parity by its sha256, LiteLLM as its master key): auth on for both.
BENCH_KEY = "sk-bench-" + "0123456789abcdef" * 2
# Marker secrets the gateway sends upstream (and must never let back out): scrubbing on.
UPSTREAM_KEY_ENV = "PARITY_BENCH_UPSTREAM_KEY"
UPSTREAM_KEY = "sk-upstream-" + "a1b2c3d4e5f60718" * 2
HEADER_SECRET = "hdr-secret-" + "0f1e2d3c4b5a6978" * 2
ECHO = b"ECHO-SECRET"  # in a request body: the mock reflects the x-provider-key header value

TEXT = ["Let me ", "look up the ", "current weather ", "in Paris for you."]
FIRST_TEXT = TEXT[0].encode()
_CALL = {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
_USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def _answer(text: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": text, "tool_calls": [_CALL]}}], "usage": _USAGE}).encode()


def _frame(delta: dict[str, Any] | None, finish: str | None = None, usage: bool = False) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    obj = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock",
           "choices": choices, **({"usage": _USAGE} if usage else {})}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _tool_piece(args: str, head: bool = False) -> dict[str, Any]:
    fn = {"name": "get_weather", "arguments": args} if head else {"arguments": args}
    tc = {"index": 0, "id": "call_0", "type": "function", "function": fn} if head else {"index": 0, "function": fn}
    return {"tool_calls": [tc]}


def _stream(text: list[str]) -> list[list[bytes]]:
    """The answer as SSE frames, in groups sent STREAM_GAP_S apart."""
    return [[_frame({"role": "assistant", "content": text[0]}), _frame({"content": text[1]})],
            [_frame({"content": t}) for t in text[2:]],
            [_frame(_tool_piece("", head=True)), _frame(_tool_piece("{\"city\": "))],
            [_frame(_tool_piece("\"Paris\"}")), _frame({}, "tool_calls"), _frame(None, usage=True),
             b"data: [DONE]\n\n"]]


_ANSWER, _STREAM = _answer("".join(TEXT)), _stream(TEXT)


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    req = json.loads(body)
    answer, frames = _ANSWER, _STREAM
    if ECHO in body:  # the secret reflected: what the scrubber is there for
        secret = dict(scope["headers"]).get(b"x-provider-key", b"").decode()
        answer, frames = _answer("key " + secret), _stream(["key ", secret, " ", "end"])
    await asyncio.sleep(UPSTREAM_DELAY_S)
    if not req.get("stream"):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    for i, group in enumerate(frames):
        if i:
            await asyncio.sleep(STREAM_GAP_S)
        for f in group:
            await send({"type": "http.response.body", "body": f, "more_body": True})
    await send({"type": "http.response.body", "body": b""})

"""An in-process ASGI app speaking the OpenAI chat API, driven by a script.

Shared by unit tests (through ``httpx.ASGITransport``), integration tests and
benchmarks (served on 127.0.0.1 by uvicorn). Raw ASGI, no framework: the
benchmarks measure parity, not the fake.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from ._apis import as_chat, completion, completion_chunks, response, response_events
from ._behaviors import Answer, Behavior, Garbage, HttpError, Script, Slow, default_script

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FakeEndpoint:
    """``FakeEndpoint(script)`` is an ASGI app; ``requests`` records every body received."""

    def __init__(
        self, script: Script = default_script, *, model: str = "fake-model", echo_headers: bool = False
    ) -> None:
        self.script = script
        self.model = model
        # A leaky endpoint that repeats the request's headers (keys included) in
        # its answers: what the secrets tests need to prove redaction works.
        self.echo_headers = echo_headers
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._n = 0
        # Requests received and not yet answered: /health reports it, so that a test can wait
        # for work to be in flight (or drained) instead of sleeping.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if scope["method"] == "GET" and path in ("/health", "/v1/health"):
            await _json(send, 200, {"status": "ok", "in_flight": self.in_flight})
            return
        if scope["method"] == "GET" and path.endswith("/models"):
            await _json(send, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
            return
        api = _api(path)
        if scope["method"] != "POST" or api is None:
            await _json(send, 404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        raw = await _read_body(receive)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await _json(send, 400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return
        self.requests.append(body)
        headers = {k.decode(): v.decode() for k, v in scope.get("headers", [])}
        self.headers.append(headers)
        if api != "chat" and isinstance(body, dict):
            body = as_chat(path, body)  # the script sees every API as chat
        behavior = self.script(body)
        if self.echo_headers and isinstance(behavior, Answer):
            behavior = dataclasses.replace(
                behavior, content=f"{behavior.content or ''} (you sent {headers})",
                extra={**behavior.extra, "echo": headers})
        self.in_flight += 1
        try:
            await self._behave(behavior, body, send, api)
        finally:
            self.in_flight -= 1

    async def _behave(self, behavior: Behavior, body: dict[str, Any], send: Send, api: str = "chat") -> None:
        if isinstance(behavior, Slow):
            await asyncio.sleep(behavior.delay_s)
            await self._behave(behavior.then, body, send, api)
        elif isinstance(behavior, HttpError):
            payload = {"error": {"message": behavior.message, "type": "server_error", "code": behavior.status}}
            await _json(send, behavior.status, payload, behavior.headers)
        elif isinstance(behavior, Garbage):
            await _raw(send, behavior.status, behavior.body, behavior.content_type)
        elif api != "chat":
            await self._other(api, behavior, body, send)
        elif body.get("stream"):
            await self._stream(behavior, body, send)
        else:
            await _json(send, 200, self._completion(behavior, body))

    async def _other(self, api: str, a: Answer, body: dict[str, Any], send: Send) -> None:
        """``/v1/responses`` and ``/v1/completions``, whole or streamed in their own event shapes."""
        n, usage = self._n + 1, self._usage(a, body)
        self._n = n
        if api == "responses":
            if not body.get("stream"):
                await _json(send, 200, response(a, body, self.model, n, usage))
                return
            frames = [b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n"
                      for e in response_events(a, body, self.model, n, usage)]
        else:
            if not body.get("stream"):
                await _json(send, 200, completion(a, self.model, n, usage, _finish(a)))
                return
            frames = [b"data: " + orjson.dumps(c) + b"\n\n" for c in completion_chunks(a, self.model, n, _finish(a))]
            frames.append(b"data: [DONE]\n\n")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        for frame in frames:
            if a.chunk_delay_s:
                await asyncio.sleep(a.chunk_delay_s)
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _next_id(self) -> str:
        self._n += 1
        return f"chatcmpl-fake-{self._n}"

    def _usage(self, a: Answer, body: dict[str, Any]) -> dict[str, int]:
        if a.usage is not None:
            return a.usage
        prompt = sum(len(str(m.get("content") or "")) // 4 + 4 for m in body.get("messages") or [])
        out = len(a.content or "") // 4 + sum(len(c.arguments) // 4 + 2 for c in a.calls)
        return {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}

    def _completion(self, a: Answer, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": a.content}
        if a.reasoning_content is not None:
            message["reasoning_content"] = a.reasoning_content
        if a.calls:
            message["tool_calls"] = [
                {"id": c.id or f"call_{i}", "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for i, c in enumerate(a.calls)
            ]
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": _finish(a)}
        if a.logprobs is not None:
            choice["logprobs"] = {"content": a.logprobs}
        n = int(body.get("n") or 1)
        choices = [choice] + [{**choice, "index": i} for i in range(1, n)]
        return {
            "id": self._next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": choices,
            "usage": self._usage(a, body),
            **a.extra,
        }

    def _chunks(self, a: Answer, body: dict[str, Any]) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if a.reasoning_content:
            deltas.append({"reasoning_content": a.reasoning_content})
        for piece in _split(a.content or "", 4):
            deltas.append({"content": piece})
        arg_chunk = 0
        for i, c in enumerate(a.calls):
            deltas.append({"tool_calls": [{"index": i, "id": c.id or f"call_{i}", "type": "function",
                                           "function": {"name": c.name, "arguments": ""}}]})
            for piece in _split(c.arguments, 8):
                d = {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                if arg_chunk != a.drop_tool_delta:
                    deltas.append(d)
                if arg_chunk == a.duplicate_tool_delta:
                    deltas.append(d)
                arg_chunk += 1
        cid, created = self._next_id(), int(time.time())
        chunks: list[dict[str, Any]] = [
            {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.model,
             "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
            for d in deltas
        ]
        chunks[-1]["choices"][0]["finish_reason"] = _finish(a)
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({"id": cid, "object": "chat.completion.chunk", "created": created,
                           "model": self.model, "choices": [], "usage": self._usage(a, body)})
        return chunks

    async def _stream(self, behavior: Answer, body: dict[str, Any], send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        for n, chunk in enumerate(self._chunks(behavior, body)):
            if behavior.cut_after_chunks is not None and n >= behavior.cut_after_chunks:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if behavior.chunk_delay_s:
                await asyncio.sleep(behavior.chunk_delay_s)
            await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def _api(path: str) -> str | None:
    for suffix, api in (("/chat/completions", "chat"), ("/responses", "responses"), ("/completions", "completions")):
        if path.endswith(suffix):
            return api
    return None


def _finish(a: Answer) -> str:
    return a.finish_reason or ("tool_calls" if a.calls else "stop")


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


async def _json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    await _raw(send, status, orjson.dumps(payload), "application/json", headers)


async def _raw(
    send: Send, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
) -> None:
    hdrs = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})

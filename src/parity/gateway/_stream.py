"""One streamed attempt: read ahead until it can be committed, then pass through.

Before anything reaches the client, the attempt reads until the first text
token (then content streams through) or, for an answer that starts with tool
calls, to the end of the stream. A stream that breaks, stalls or sends
garbage before that point is a failed attempt and the request falls back to
another endpoint. Tool-call deltas are always held until the reassembled
calls validate; if they fail after text was already sent, the stream ends
with an error event (the text cannot be unsent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx

from parity.client import (
    InvalidBody,
    StreamAssembler,
    StreamError,
    iter_sse_data,
    parse_completion,
    parse_retry_after,
)
from parity.client._client import read_capped

from ._errors import GatewayError
from ._stream_repair import repair_stream
from ._upstream import Attempt, Upstream, status_outcome
from ._validation import ToolValidator, is_empty, summarize

DONE = b"data: [DONE]\n\n"
ERROR_BODY_BYTES = 64 * 1024  # of a refusal, only an excerpt is ever used


class StreamAttempt:
    def __init__(
        self, up: Upstream, content: bytes, tools: list[dict[str, Any]] | None,
        validator: ToolValidator | None, first_token_s: float, idle_s: float,
        reject_empty: bool = False, max_bytes: int | None = None,
    ) -> None:
        self.up = up
        self._content = content
        self._tools = tools
        self._validator = validator
        self._first_token_s = first_token_s
        self._idle_s = idle_s
        self._reject_empty = reject_empty
        self._max_bytes = max_bytes
        self._read = 0  # bytes of the answer read so far (bounded by max_bytes)
        self._asm = StreamAssembler()
        self._buf = bytearray()
        self._out: list[bytes] = []  # frames ready for the client
        self._held: list[bytes] = []  # frames from the first tool-call delta on
        self._hold = False  # True from the first tool-call delta (or call text) on
        self._resp: httpx.Response | None = None
        self._it: AsyncIterator[bytes] | None = None
        self._t0 = 0.0
        self.attempt = Attempt(up.name, "stream_error")

    def _fail(self, outcome: str, error: str, status: int | None = None, retry_after: float | None = None) -> Attempt:
        self.attempt = Attempt(self.up.name, outcome, status=status, error=self.up.redact(error)[:300],
                               retry_after_s=retry_after, latency_s=time.perf_counter() - self._t0,
                               ttft_s=self.attempt.ttft_s)
        return self.attempt

    async def start(self) -> Attempt:
        """Open and read ahead; on any failure the upstream response is closed."""
        self._t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self._first_token_s) as deadline:
                failed = await self._open()
                if failed is not None:
                    await self.close()
                    return failed
                result = await self._read_ahead(deadline)
        except TimeoutError:
            await self.close()
            return self._fail("timeout", f"no first token within {self._first_token_s:g}s")
        except (httpx.TransportError, httpx.StreamError) as exc:
            await self.close()
            return self._fail("connect_error" if self._resp is None else "stream_error",
                              f"{type(exc).__name__}: {exc}")
        except _Broken as exc:
            await self.close()
            return self._fail("stream_error", str(exc), self._status())
        except BaseException:
            await self.close()
            raise
        if not result.ok:
            await self.close()
        return result

    async def _open(self) -> Attempt | None:
        req = httpx.Request("POST", self.up.url, content=self._content, headers=self.up.headers,
                            extensions={"timeout": self.up.stream_timeout})
        self._resp = resp = await self.up.transport.handle_async_request(req)
        resp.request = req
        if not 200 <= resp.status_code < 300:
            body = await read_capped(resp, ERROR_BODY_BYTES)
            status = resp.status_code
            return self._fail(status_outcome(status, self.up.retry), f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}", status,
                              parse_retry_after(resp.headers.get("retry-after")))
        if "text/event-stream" not in resp.headers.get("content-type", ""):
            body = await read_capped(resp, ERROR_BODY_BYTES)
            return self._fail("invalid_body", f"stream asked, got {resp.headers.get('content-type')!r}: "
                              f"{body[:120].decode('utf-8', 'replace')}", resp.status_code)
        self._it = resp.aiter_raw()
        return None

    async def _read_ahead(self, deadline: asyncio.Timeout) -> Attempt:
        assert self._it is not None
        async for raw in self._it:
            self._count(raw)
            text = False
            # every event of this read is taken before deciding: none may be dropped
            for payload in iter_sse_data(self._buf, raw):
                text = self._take(payload) or text
            if self._asm.first_token:
                if self.attempt.ttft_s is None:
                    self.attempt.ttft_s = time.perf_counter() - self._t0
                deadline.reschedule(asyncio.get_running_loop().time() + self._idle_s)
            if self._asm.done:
                return self._finish()
            if text:
                self.attempt.outcome = "ok"  # committed: text flows, tool calls still held
                return self.attempt
        return self._fail("stream_error", "stream ended before the first token" if not self._asm.first_token
                          else "stream ended before [DONE]", self._status())

    def _count(self, raw: bytes) -> None:
        self._read += len(raw)
        if self._max_bytes is not None and self._read > self._max_bytes:
            raise _Broken(f"answer larger than {self._max_bytes} bytes (max_response_bytes)")

    def _status(self) -> int | None:
        return self._resp.status_code if self._resp is not None else None

    def _take(self, payload: bytes) -> bool:
        """Feed one event; True if it carried text that may go to the client now."""
        seen = len(self._asm.content)
        before = seen + len(self._asm.reasoning)
        try:
            self._asm.feed(payload)
        except StreamError as exc:
            raise _Broken(str(exc)) from None
        if self._asm.done:
            return False  # [DONE] is sent by us, after the held frames validated
        frame = b"data: " + payload + b"\n\n"
        self._hold = self._hold or bool(self._asm.calls) or self._markup(seen)
        if self._hold or self._partial():
            self._held.append(frame)
            return False
        self._out.extend(self._held)  # what a partial marker held was harmless after all
        self._held.clear()
        self._out.append(frame)
        return len(self._asm.content) + len(self._asm.reasoning) > before

    def _partial(self) -> bool:
        return self._validator is not None and bool(self._asm.content) and self._validator.may_hold(self._asm.content)

    def _markup(self, seen: int) -> bool:
        """Content that may be a call left as text is held like tool-call deltas."""
        v = self._validator
        pieces = self._asm.content
        return v is not None and len(pieces) > seen and v.holds(pieces, seen, bool(self._tools))

    def _finish(self) -> Attempt:
        """The stream completed: validate the held tool calls."""
        latency = time.perf_counter() - self._t0
        if not self._asm.first_token and self._asm.finish_reason is None:
            # e.g. only `choices: []` chunks, then [DONE]: as invalid as the same non-streamed body
            return self._fail("invalid_body", "the stream carried no choice", self._status())
        try:
            completion = parse_completion(self._asm.result())
        except InvalidBody as exc:
            return self._fail("invalid_body", f"reassembled stream invalid: {exc}", self._status())
        self.attempt.empty = is_empty(completion)
        if self.attempt.empty and self._reject_empty:
            failed = self._fail("empty_answer", "empty answer (no text, no tool call, finish_reason 'stop')",
                                self._status())
            failed.empty = True
            return failed
        findings = self._validator.check(self._tools, completion, self.up.name) if self._validator is not None else []
        a = self.attempt
        a.latency_s, a.tool_calls, a.status = latency, len(completion.tool_calls), self._status()
        a.usage, a.finish_reasons = completion.usage, [completion.finish_reason or ""]
        # -- streamed repair (repair_tool_calls; _stream_repair): leaked call text held back becomes
        # tool_calls deltas; the only hook of it in this module
        fixed = repair_stream(self._validator, self._tools, self._asm, self._held, self.up.name) if findings else None
        if fixed is not None:
            findings, self._held = [], fixed.frames
            a.repaired, a.tool_calls, a.finish_reasons = fixed.family, fixed.tool_calls, ["tool_calls"]
        # -- end of streamed repair
        if findings:
            a.outcome, a.findings, a.error = "tool_call_invalid", findings, summarize(findings)
            return a
        a.outcome = "ok"
        self._out.extend(self._held)
        self._held.clear()
        return a

    def pending(self) -> list[bytes]:
        """Frames read ahead that the client may have now."""
        out, self._out = self._out, []
        return out

    async def rest(self, on_end: Callable[[Attempt], Awaitable[None]]) -> AsyncIterator[bytes]:
        """The committed stream, to its end; ``on_end`` gets the final attempt exactly once."""
        try:
            for frame in self.pending():
                yield frame
            if self._asm.done:
                if self.attempt.ok:
                    yield DONE
                await on_end(self.attempt)
                return
            async for frame in self._through():
                yield frame
            await on_end(self.attempt)
        finally:
            await self.close()

    async def _through(self) -> AsyncIterator[bytes]:
        assert self._it is not None
        try:
            async with asyncio.timeout(self._idle_s) as idle:
                async for raw in self._it:
                    self._count(raw)
                    for payload in iter_sse_data(self._buf, raw):
                        self._take(payload)
                        if self._asm.done:
                            self._finish()
                    for frame in self.pending():
                        yield frame
                    if self._asm.done:
                        break
                    idle.reschedule(asyncio.get_running_loop().time() + self._idle_s)
        except TimeoutError:
            self._fail("timeout", f"stream stalled for {self._idle_s:g}s")
        except (httpx.TransportError, httpx.StreamError, _Broken) as exc:
            self._fail("stream_error", f"stream broke after the first token: {exc}", self._status())
        else:
            if not self._asm.done:
                self._fail("stream_error", "stream ended before [DONE]", self._status())
        if self.attempt.ok:
            yield DONE
        else:
            yield GatewayError(502, f"upstream {self.up.name}: {self.attempt.public()}", type="upstream_error",
                               code=self.attempt.outcome).sse()

    async def close(self) -> None:
        if self._resp is not None:
            # Shielded: this runs while a disconnected client's task is being cancelled.
            with anyio.CancelScope(shield=True):
                await self._resp.aclose()


class _Broken(Exception):
    """The event stream is not SSE/JSON."""

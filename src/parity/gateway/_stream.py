"""Streamed attempts: read ahead until one can be committed, then pass through.

``RelayedStream`` is the machinery every API's stream shares: the answer is
opened through the endpoint's ``ChatClient`` (``ChatClient.stream``: its
``max_concurrency`` slot and ``requests_per_second``, its headers and TLS) and
read with a deadline on each read (first token, then idle), never around a
``yield``. Frames go out in batches, one per upstream read. What differs per API
(chat here, Responses and Completions in ``_other_stream``) is how bytes become
frames (``_take``), how the whole answer is judged (``_finish``), how a refusal
reads (``_refused``) and how the stream ends (``_end``).

Chat: before anything reaches the client, the attempt reads until the first
text token (then content streams through) or, for an answer that starts with
tool calls, to the end of the stream. A stream that breaks, stalls or sends
garbage before that point is a failed attempt and the request falls back to
another endpoint. Tool-call deltas are always held until the reassembled
calls validate; if they fail after text was already sent, the stream ends
with an error event (the text cannot be unsent).

The hold-back interface: ``_take`` puts frames the client may have now in
``_out`` and frames that must wait (tool calls, possible call text) in
``_held``; ``_finish`` releases ``_held`` once the answer validates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from parity.client import (
    InvalidBody,
    OpenStream,
    StreamAssembler,
    StreamError,
    iter_sse_data,
    parse_completion,
    parse_retry_after,
)

from ._errors import GatewayError
from ._stream_repair import repair_stream
from ._upstream import Attempt, Upstream, status_outcome
from ._validation import ToolValidator, is_empty, summarize

DONE = b"data: [DONE]\n\n"
ERROR_BODY_BYTES = 64 * 1024  # of a refusal, only an excerpt is ever used


class Broken(Exception):
    """The event stream is not SSE/JSON, or is larger than allowed."""


class RelayedStream:
    """One streamed attempt on one endpoint. Subclasses say how bytes become frames."""

    path = "chat/completions"

    def __init__(self, up: Upstream, content: bytes, first_token_s: float, idle_s: float,
                 max_bytes: int | None) -> None:
        self.up = up
        self._content = content
        self._first_token_s = first_token_s
        self._idle_s = idle_s
        self._max_bytes = max_bytes
        self._read = 0  # bytes of the answer read so far (bounded by max_bytes)
        self._out: list[bytes] = []  # frames ready for the client
        self._held: list[bytes] = []  # frames that wait for the answer's validation
        self._stream: OpenStream | None = None
        self._t0 = 0.0
        self.done = False  # the answer ended (its last event was read)
        self.first_token = False  # the answer began (text or a call): the idle deadline applies
        self.attempt = Attempt(up.name, "stream_error")

    # what each API supplies -------------------------------------------------------
    def _take(self, raw: bytes) -> bool:
        """Feed bytes read; True if they carried text the client may have now (commit)."""
        raise NotImplementedError

    def _finish(self) -> Attempt:
        """The answer ended: judge it whole; on success ``_held`` joins ``_out``."""
        raise NotImplementedError

    def _refused(self, status: int, body: bytes, headers: httpx.Headers) -> Attempt:
        raise NotImplementedError

    def _unexpected(self, stream: OpenStream) -> bool:
        """Whether a 2xx answer is not a stream at all (then it is read as an error excerpt)."""
        return False

    def _end(self) -> list[bytes]:
        """The frames that end a relayed stream: after success, or after a failure."""
        raise NotImplementedError

    # shared ---------------------------------------------------------------------
    def _fail(self, outcome: str, error: str, status: int | None = None, retry_after: float | None = None) -> Attempt:
        self.attempt = Attempt(self.up.name, outcome, status=status, error=self.up.redact(error)[:300],
                               retry_after_s=retry_after, latency_s=time.perf_counter() - self._t0,
                               ttft_s=self.attempt.ttft_s)
        return self.attempt

    async def start(self) -> Attempt:
        """Open and read ahead; on any failure the upstream response is closed."""
        self._t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._first_token_s
        try:
            async with asyncio.timeout_at(deadline):  # a slot, the rate, connect, the head
                self._stream = stream = await self.up.client.stream(
                    self._content, path=self.path, connect_timeout_s=self.up.connect_timeout_s)
                if not 200 <= stream.status_code < 300 or self._unexpected(stream):
                    body = await stream.read_capped(ERROR_BODY_BYTES)
                    await self.close()
                    refused = self._refused(stream.status_code, body, stream.headers)
                    refused.latency_s = time.perf_counter() - self._t0
                    self.attempt = refused
                    return refused
            result = await self._read_ahead(deadline)
        except TimeoutError:
            await self.close()
            return self._fail("timeout", f"no first token within {self._first_token_s:g}s")
        except (httpx.TransportError, httpx.StreamError) as exc:
            await self.close()
            return self._fail("connect_error" if self._stream is None else "stream_error",
                              f"{type(exc).__name__}: {exc}", self._status())
        except Broken as exc:
            await self.close()
            return self._fail("stream_error", str(exc), self._status())
        except BaseException:
            await self.close()
            raise
        if not result.ok:
            await self.close()
        return result

    async def _read_ahead(self, deadline: float) -> Attempt:
        assert self._stream is not None
        loop = asyncio.get_running_loop()
        while raw := await self._stream.read(deadline - loop.time()):
            self._count(raw)
            text = self._take(raw)  # every event of this read is taken before deciding
            if self.first_token and self.attempt.ttft_s is None:
                self.attempt.ttft_s = time.perf_counter() - self._t0
            if self.first_token:
                deadline = loop.time() + self._idle_s
            if self.done:
                return self._finish()
            if text:
                self.attempt.outcome = "ok"  # committed: text flows, tool calls still held
                return self.attempt
        return self._fail("stream_error", "stream ended before the first token" if not self.first_token
                          else "stream ended before it completed", self._status())

    async def rest(self, on_end: Callable[[Attempt], Awaitable[None]]) -> AsyncIterator[list[bytes]]:
        """The committed stream to its end, a batch of frames per upstream read; ``on_end``
        gets the final attempt exactly once. No deadline spans a ``yield``."""
        try:
            if not self.done:
                async for batch in self._through():
                    yield batch
            yield self.pending() + self._end()
            await on_end(self.attempt)
        finally:
            await self.close()

    async def _through(self) -> AsyncIterator[list[bytes]]:
        """What was read ahead, then a batch per read until the answer ends (its last frames
        are left for ``rest`` to send with the end)."""
        assert self._stream is not None
        try:
            if batch := self.pending():
                yield batch
            while raw := await self._stream.read(self._idle_s):
                self._count(raw)
                self._take(raw)
                if self.done:
                    self._finish()
                    return
                if batch := self.pending():
                    yield batch
        except TimeoutError:
            self._fail("timeout", f"stream stalled for {self._idle_s:g}s")
            return
        except (httpx.TransportError, httpx.StreamError, Broken) as exc:
            self._fail("stream_error", f"stream broke after the first token: {exc}", self._status())
            return
        self._fail("stream_error", "stream ended before it completed", self._status())

    def pending(self) -> list[bytes]:
        """Frames read that the client may have now."""
        out, self._out = self._out, []
        return out

    def _count(self, raw: bytes) -> None:
        self._read += len(raw)
        if self._max_bytes is not None and self._read > self._max_bytes:
            raise Broken(f"answer larger than {self._max_bytes} bytes (max_response_bytes)")

    def _status(self) -> int | None:
        return self._stream.status_code if self._stream is not None else None

    async def close(self) -> None:
        """Close the answer and give the endpoint's slot back; safe to repeat."""
        if self._stream is not None:
            await self._stream.aclose()


class StreamAttempt(RelayedStream):
    """A streamed ``/v1/chat/completions`` attempt."""

    def __init__(
        self, up: Upstream, content: bytes, tools: list[dict[str, Any]] | None,
        validator: ToolValidator | None, first_token_s: float, idle_s: float,
        reject_empty: bool = False, max_bytes: int | None = None,
    ) -> None:
        super().__init__(up, content, first_token_s, idle_s, max_bytes)
        self._tools = tools
        self._validator = validator
        self._reject_empty = reject_empty
        self._asm = StreamAssembler()
        self._buf = bytearray()
        self._hold = False  # True from the first tool-call delta (or call text) on

    def _refused(self, status: int, body: bytes, headers: httpx.Headers) -> Attempt:
        if 200 <= status < 300:  # not a stream at all (see _unexpected)
            return self._fail("invalid_body", f"stream asked, got {headers.get('content-type')!r}: "
                              f"{body[:120].decode('utf-8', 'replace')}", status)
        return self._fail(status_outcome(status, self.up.retry),
                          f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}", status,
                          parse_retry_after(headers.get("retry-after")))

    def _unexpected(self, stream: OpenStream) -> bool:
        return "text/event-stream" not in stream.headers.get("content-type", "")

    def _end(self) -> list[bytes]:
        if self.attempt.ok:
            return [DONE]
        return [GatewayError(502, f"upstream {self.up.name}: {self.attempt.public()}", type="upstream_error",
                             code=self.attempt.outcome).sse()]

    def _take(self, raw: bytes) -> bool:
        text = False
        for payload in iter_sse_data(self._buf, raw):
            text = self._event(payload) or text
            if self.done:
                break
        self.first_token = self._asm.first_token
        return text

    def _event(self, payload: bytes) -> bool:
        """Feed one event; True if it carried text that may go to the client now."""
        asm = self._asm
        content, reasoning = asm.content, asm.reasoning  # the assembler's lists: they only grow
        seen = len(content)
        before = seen + len(reasoning)
        try:
            asm.feed(payload)
        except StreamError as exc:
            raise Broken(str(exc)) from None
        if asm.done:
            self.done = True
            return False  # [DONE] is sent by us, after the held frames validated
        frame = b"data: " + payload + b"\n\n"
        if not self._hold and (asm.calls or (len(content) > seen and self._markup(seen))):
            self._hold = True
        if self._hold or (content and self._partial()):
            self._held.append(frame)
            return False
        if self._held:  # what a partial marker held was harmless after all
            self._out.extend(self._held)
            self._held.clear()
        self._out.append(frame)
        return len(content) + len(reasoning) > before

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

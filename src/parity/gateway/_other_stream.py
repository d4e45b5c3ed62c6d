"""A streamed ``/v1/responses`` or ``/v1/completions`` attempt, relayed as it comes.

Like chat streams: events are read ahead until text flows (then the stream is
committed to this endpoint and relayed) or the answer ends (then it is judged
whole and may still fall back). Function calls are held from their first event
until the answer completes and they are validated; a committed stream whose
calls turn out invalid ends with an ``error`` event instead of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import orjson

from parity.client import iter_sse_data
from parity.client._client import read_capped

from ._stream import ERROR_BODY_BYTES
from ._upstream import Attempt, Upstream

__all__ = ["OtherStream"]

Judge = Callable[[bytes, int, float], Attempt]  # (whole answer as SSE, status, latency) -> attempt
Refused = Callable[[Upstream, str, int, bytes, "float | None"], Attempt]  # _responses._refused


class _Broken(Exception):
    pass


class OtherStream:
    def __init__(self, up: Upstream, api: str, request: httpx.Request, judge: Judge,
                 first_token_s: float, idle_s: float, max_bytes: int | None, refused: Refused) -> None:
        self.up, self.api, self._request, self._judge = up, api, request, judge
        self._max_bytes = max_bytes  # the server's max_response_bytes, as for chat
        self.refused = refused  # the one rule for an HTTP refusal (shared with non-streamed attempts)
        self._first_token_s, self._idle_s = first_token_s, idle_s
        self._resp: httpx.Response | None = None
        self._it: AsyncIterator[bytes] | None = None
        self._buf = bytearray()
        self._all: list[bytes] = []  # every frame, for judging the whole answer
        self._out: list[bytes] = []  # frames the client may have now
        self._held: list[bytes] = []  # from the first function-call event on
        self._final: bytes | None = None  # the completing event, sent once validated
        self._calls = False
        self._done = False
        self._size = 0
        self._t0 = 0.0
        self.attempt = Attempt(up.name, "stream_error")

    def _fail(self, outcome: str, error: str, status: int | None = None) -> Attempt:
        self.attempt = Attempt(self.up.name, outcome, status=status, error=self.up.redact(error)[:300],
                               latency_s=time.perf_counter() - self._t0, ttft_s=self.attempt.ttft_s)
        return self.attempt

    async def start(self) -> Attempt:
        """Open and read ahead: ``ok`` once text flows (committed) or when the answer ended well."""
        self._t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self._first_token_s):
                self._resp = resp = await self.up.transport.handle_async_request(self._request)
                if not 200 <= resp.status_code < 300:
                    body = await read_capped(resp, ERROR_BODY_BYTES)
                    await self.close()
                    refused = self.refused(self.up, self.api, resp.status_code, body, None)
                    refused.latency_s = time.perf_counter() - self._t0
                    self.attempt = refused
                    return refused
                self._it = resp.aiter_bytes()
                async for raw in self._it:
                    if self._take(raw):
                        self.attempt.outcome = "ok"  # committed: text flows, calls still held
                        self.attempt.ttft_s = time.perf_counter() - self._t0
                        return self.attempt
                    if self._done:
                        return await self._finish()
        except TimeoutError:
            await self.close()
            return self._fail("timeout", f"no first token within {self._first_token_s:g}s")
        except (httpx.TransportError, httpx.StreamError, _Broken) as exc:
            await self.close()
            return self._fail("stream_error" if self._resp is not None else "connect_error",
                              f"{type(exc).__name__}: {exc}", self._status())
        await self.close()
        return self._fail("stream_error", "stream ended before it completed", self._status())

    def _status(self) -> int | None:
        return self._resp.status_code if self._resp is not None else None

    def _take(self, raw: bytes) -> bool:
        """Feed bytes; True if they carried text the client may have now."""
        self._size += len(raw)
        if self._max_bytes is not None and self._size > self._max_bytes:
            raise _Broken(f"answer larger than {self._max_bytes} bytes (max_response_bytes)")
        text = False
        for payload in iter_sse_data(self._buf, raw):
            if payload == b"[DONE]":
                self._done = True
                continue
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise _Broken("an event is not JSON") from None
            if not isinstance(event, dict):
                raise _Broken("an event is not a JSON object")
            kind = event.get("type")
            frame = (b"event: " + str(kind).encode() + b"\n" if self.api == "responses" and kind else b"") \
                + b"data: " + payload + b"\n\n"
            self._all.append(frame)
            if kind in ("response.completed", "response.failed", "response.incomplete", "error"):
                self._done, self._final = True, frame
                continue  # sent after validation
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                self._calls = True
            (self._held if self._calls else self._out).append(frame)
            text = text or _has_text(self.api, event)
        return text and not self._calls

    async def _finish(self) -> Attempt:
        latency = time.perf_counter() - self._t0
        whole = b"".join(self._all) + (b"data: [DONE]\n\n" if self.api == "completions" else b"")
        judged = self._judge(whole, self._status() or 200, latency)
        judged.ttft_s = self.attempt.ttft_s
        self.attempt = judged
        if judged.ok:
            self._out.extend(self._held)
            self._out.append(self._final if self._final is not None else b"data: [DONE]\n\n")
            self._held.clear()
        return judged

    async def rest(self, on_end: Callable[[Attempt], Awaitable[None]]) -> AsyncIterator[bytes]:
        """The committed (or already judged) stream to its end; ``on_end`` gets the final attempt once."""
        try:
            for frame in self._drain():
                yield frame
            if not self._done:
                async for frame in self._through():
                    yield frame
            if not self.attempt.ok:
                yield _error_event(self.api, self.attempt)
            await on_end(self.attempt)
        finally:
            await self.close()

    async def _through(self) -> AsyncIterator[bytes]:
        assert self._it is not None
        try:
            async with asyncio.timeout(self._idle_s) as idle:
                async for raw in self._it:
                    self._take(raw)
                    if self._done:
                        await self._finish()
                    for frame in self._drain():
                        yield frame
                    if self._done:
                        return
                    idle.reschedule(asyncio.get_running_loop().time() + self._idle_s)
        except TimeoutError:
            self._fail("timeout", f"stream stalled for {self._idle_s:g}s")
            return
        except (httpx.TransportError, httpx.StreamError, _Broken) as exc:
            self._fail("stream_error", f"stream broke after the first token: {exc}", self._status())
            return
        self._fail("stream_error", "stream ended before it completed", self._status())

    def _drain(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    async def close(self) -> None:
        if self._resp is not None:
            # Shielded: this runs while a disconnected client's task is being cancelled.
            with anyio.CancelScope(shield=True):
                await self._resp.aclose()


def _has_text(api: str, event: dict[str, Any]) -> bool:
    if api == "responses":
        return event.get("type") == "response.output_text.delta" and bool(event.get("delta"))
    return any(isinstance(c, dict) and c.get("text") for c in event.get("choices") or [])


def _error_event(api: str, att: Attempt) -> bytes:
    message = f"upstream {att.endpoint}: {att.public()}"  # as chat's: no addresses, names, HTML
    if api == "responses":  # the Responses API's own error event
        event = {"type": "error", "code": att.outcome, "message": message, "param": None}
        return b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"
    return b"data: " + orjson.dumps({"error": {"message": message, "type": "upstream_error",
                                               "code": att.outcome}}) + b"\n\n"

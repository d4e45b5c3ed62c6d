"""A streamed ``/v1/responses`` or ``/v1/completions`` attempt, relayed as it comes.

Like chat streams: events are read ahead until text flows (then the stream is
committed to this endpoint and relayed) or the answer ends (then it is judged
whole and may still fall back). Function calls are held from their first event
until the answer completes and they are validated; a committed stream whose
calls turn out invalid ends with an ``error`` event instead of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from parity.client import iter_sse_data

from ._stream import Broken, RelayedStream
from ._upstream import Attempt, Upstream

__all__ = ["OtherStream"]

Judge = Callable[[bytes, int, float], Attempt]  # (whole answer as SSE, status, latency) -> attempt
Refused = Callable[[Upstream, str, int, bytes, "float | None"], Attempt]  # _responses._refused


_EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})


class OtherStream(RelayedStream):
    """A streamed ``/v1/responses`` or ``/v1/completions`` attempt (the machinery is chat's)."""

    def __init__(self, up: Upstream, api: str, content: bytes, judge: Judge, first_token_s: float,
                 idle_s: float, max_bytes: int | None, refused: Refused) -> None:
        super().__init__(up, content, first_token_s, idle_s, max_bytes)
        self.path = api
        self.api, self._judge = api, judge
        self.refused = refused  # the one rule for an HTTP refusal (shared with non-streamed attempts)
        self._buf = bytearray()
        self._all: list[bytes] = []  # every frame, for judging the whole answer
        self._final: bytes | None = None  # the completing event, sent once validated
        self._calls = False

    def _refused(self, status: int, body: bytes, headers: httpx.Headers) -> Attempt:
        return self.refused(self.up, self.api, status, body, None)

    def _end(self) -> list[bytes]:
        return [] if self.attempt.ok else [_error_event(self.api, self.attempt)]

    def _take(self, raw: bytes) -> bool:
        text = False
        for payload in iter_sse_data(self._buf, raw):
            if payload == b"[DONE]":
                self.done = True
                continue
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise Broken("an event is not JSON") from None
            if not isinstance(event, dict):
                raise Broken("an event is not a JSON object")
            kind = event.get("type")
            if kind is not None and not (isinstance(kind, str) and _EVENT_NAME.fullmatch(kind)):
                raise Broken("an event's type is not a name")  # it becomes the `event:` line
            if b"\n" in payload or b"\r" in payload:  # JSON may span lines; one SSE data line may not
                payload = orjson.dumps(event)
            frame = (b"event: " + kind.encode() + b"\n" if self.api == "responses" and kind else b"") \
                + b"data: " + payload + b"\n\n"
            self._all.append(frame)
            if kind in _FINAL:
                self.done, self._final = True, frame
                continue  # sent after validation
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                self._calls = self.first_token = True
            (self._held if self._calls else self._out).append(frame)
            if _has_text(self.api, event):
                text = self.first_token = True
        return text and not self._calls

    def _finish(self) -> Attempt:
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

"""Server-sent events and the reassembly of streamed chat completions.

Tool-call deltas are reassembled by their ``index``; anything a faithful
server would never send (a second id for one index, an index that skips,
the same chunk twice) is kept as an anomaly rather than papered over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


class StreamError(ValueError):
    """The event stream itself is broken (not JSON, not SSE)."""


@dataclass
class _CallAcc:
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAssembler:
    """Feeds on ``data:`` payloads; produces one chat.completion body."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _CallAcc] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    logprobs: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)
    done: bool = False
    chunks: int = 0
    first_token: bool = False
    _last_payload: bytes = b""

    def feed(self, payload: bytes) -> bool:
        """Take one event's data; True when this chunk carried the first token."""
        if payload.strip() == b"[DONE]":
            self.done = True
            return False
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise StreamError(f"event data is not JSON: {payload[:120]!r}") from None
        if not isinstance(chunk, dict):
            raise StreamError("event data is not a JSON object")
        if "error" in chunk and not chunk.get("choices"):
            raise StreamError(f"error event in stream: {str(chunk['error'])[:200]}")
        if payload == self._last_payload and b"tool_calls" in payload:
            self.anomalies.append(f"chunk {self.chunks} repeats the previous tool-call chunk")
        self._last_payload = payload
        self.chunks += 1
        for key in ("id", "created", "model", "system_fingerprint"):
            if key in chunk and key not in self.meta:
                self.meta[key] = chunk[key]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        first = False
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            first = self._choice(choice) or first
        was_first = first and not self.first_token
        self.first_token = self.first_token or first
        return was_first

    def _choice(self, choice: dict[str, Any]) -> bool:
        delta = choice.get("delta") or {}
        got = False
        if isinstance(delta.get("content"), str) and delta["content"]:
            self.content.append(delta["content"])
            got = True
        rc = delta.get("reasoning_content", delta.get("reasoning"))
        if isinstance(rc, str) and rc:
            self.reasoning.append(rc)
            got = True
        for tc in delta.get("tool_calls") or []:
            if isinstance(tc, dict):
                self._tool_delta(tc)
                got = True
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        lp = choice.get("logprobs")
        if isinstance(lp, dict) and isinstance(lp.get("content"), list):
            self.logprobs.extend(lp["content"])
        return got

    def _tool_delta(self, tc: dict[str, Any]) -> None:
        index = tc.get("index")
        if not isinstance(index, int):
            self.anomalies.append(f"tool-call delta without an integer index: {str(tc)[:80]}")
            index = max(self.calls, default=-1) + (0 if tc.get("id") is None else 1)
        acc = self.calls.setdefault(index, _CallAcc())
        tid = tc.get("id")
        if isinstance(tid, str) and tid:
            if acc.id is not None and acc.id != tid:
                self.anomalies.append(f"tool call index {index} received a second id {tid!r}")
            acc.id = acc.id or tid
        if isinstance(tc.get("type"), str):
            acc.type = tc["type"]
        fn = tc.get("function") or {}
        name = fn.get("name")
        if isinstance(name, str) and name:
            if acc.name is not None and acc.name != name:
                self.anomalies.append(f"tool call index {index} renamed {acc.name!r} -> {name!r}")
            acc.name = acc.name or name
        if isinstance(fn.get("arguments"), str):
            acc.arguments.append(fn["arguments"])

    def result(self) -> dict[str, Any]:
        """The reassembled body, in non-streamed chat.completion shape."""
        indices = sorted(self.calls)
        if indices and indices != list(range(len(indices))):
            self.anomalies.append(f"tool-call indices are not 0..n-1: {indices}")
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = [
                {
                    "index": i,
                    "id": self.calls[i].id,
                    "type": self.calls[i].type or "function",
                    "function": {"name": self.calls[i].name, "arguments": "".join(self.calls[i].arguments)},
                }
                for i in indices
            ]
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": self.finish_reason}
        if self.logprobs:
            choice["logprobs"] = {"content": self.logprobs}
        body: dict[str, Any] = {"object": "chat.completion", **self.meta, "choices": [choice]}
        if self.usage is not None:
            body["usage"] = self.usage
        return body


def iter_sse_data(buffer: bytearray, chunk: bytes) -> list[bytes]:
    """Append raw bytes; return complete ``data:`` payloads (multi-line data joined)."""
    buffer.extend(chunk)
    out: list[bytes] = []
    while True:
        idx = buffer.find(b"\n\n")
        sep = 2
        crlf = buffer.find(b"\r\n\r\n")
        if crlf != -1 and (idx == -1 or crlf < idx):
            idx, sep = crlf, 4
        if idx == -1:
            return out
        event = bytes(buffer[:idx])
        del buffer[: idx + sep]
        # find() rather than `in`: on 3.11 `bytes in bytes` first tries the argument as an int and clears a TypeError
        if event.startswith(b"data:") and event.find(b"\n") < 0 and event.find(b"\r") < 0:
            out.append(event[5:].lstrip(b" "))  # the usual event: one data line
            continue
        data = [
            line[5:].lstrip(b" ") if line.startswith(b"data:") else None
            for line in event.replace(b"\r\n", b"\n").split(b"\n")
        ]
        payload = b"\n".join(d for d in data if d is not None)
        if any(d is not None for d in data):
            out.append(payload)

"""Server-sent-event chat completions: parse, reassemble, re-chunk, and lose or repeat deltas.

A faulted stream is buffered whole, turned into one completion, faulted like a
non-streamed answer and split into chunks again; stream faults then work on
those chunks. Unfaulted streams never come through here (they pass through live).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable
from typing import Any

DONE = "[DONE]"


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of an SSE body; ``[DONE]``, comments and non-JSON events are dropped."""
    chunks = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(
            line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
        )
        if not data or data == DONE:
            continue
        try:
            parsed = json.loads(data)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            chunks.append(parsed)
    return chunks


def render_sse(chunks: Iterable[dict[str, Any]]) -> bytes:
    body = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks)
    return (body + f"data: {DONE}\n\n").encode()


def reassemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """One chat.completion from chat.completion.chunk objects (first choice only)."""
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish_reason = None
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            for tc in delta.get("tool_calls") or []:
                call = calls.setdefault(
                    tc.get("index", 0),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = tc.get("id") or call["id"]
                function = tc.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
            finish_reason = choice.get("finish_reason") or finish_reason
    first = chunks[0] if chunks else {}
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {
        "id": first.get("id"),
        "object": "chat.completion",
        "created": first.get("created"),
        "model": first.get("model"),
        "usage": usage,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }


def _pieces(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def rechunk(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """Chunks for a completion; each call's arguments split in three so a delta can go astray."""
    base = {k: completion.get(k) for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"
    choice = completion["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": None})]
    if message.get("content"):
        chunks.append(chunk({"content": message["content"]}))
    for index, call in enumerate(message.get("tool_calls") or []):
        header = {
            "index": index,
            "id": call.get("id"),
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [header]}))
        for piece in _pieces(call["function"].get("arguments") or "", 3):
            chunks.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    last = chunk({}, choice.get("finish_reason"))
    if completion.get("usage"):
        last["usage"] = completion["usage"]
    chunks.append(last)
    return chunks


def _carries_arguments(chunk: dict[str, Any]) -> bool:
    for choice in chunk.get("choices") or []:
        for tc in (choice.get("delta") or {}).get("tool_calls") or []:
            if (tc.get("function") or {}).get("arguments"):
                return True
    return False


def has_argument_deltas(chunks: list[dict[str, Any]]) -> bool:
    return any(_carries_arguments(c) for c in chunks)


def perturb_deltas(chunks: list[dict[str, Any]], duplicate: bool, rng: random.Random) -> bool:
    """Drop (or send twice) one chunk carrying tool-call arguments; False if there is none."""
    candidates = [i for i, c in enumerate(chunks) if _carries_arguments(c)]
    if not candidates:
        return False
    at = rng.choice(candidates)
    if duplicate:
        chunks.insert(at + 1, copy.deepcopy(chunks[at]))
    else:
        del chunks[at]
    return True

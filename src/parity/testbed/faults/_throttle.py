"""Throttle: the proxy as a slower provider -- added latency and a cap on output tokens/s.

Applied to every answer the proxy forwards (not drawn per request like the
faults): the first byte waits ``added_latency_s``; a streamed answer is then
paced so that each SSE event carrying generated text or a tool-call delta
(one token per event, as llama.cpp and vLLM stream) leaves at most
``tokens_per_s`` per second; a non-streamed answer is held until its
``usage.completion_tokens`` could have been generated at that rate. What
parity measures behind it is therefore bounded by the throttle, whatever the
upstream's own speed: TTFT ≥ ``added_latency_s`` and output tokens/s ≤
``tokens_per_s``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

Sleep = Callable[[float], Awaitable[None]]


class Throttle(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    added_latency_s: float = Field(default=0.0, ge=0.0, le=600.0)
    tokens_per_s: float | None = Field(default=None, gt=0.0, description="None: no cap.")


def _token_events(block: bytes) -> int:
    """SSE events in ``block`` that carry a generated token (content, reasoning or call delta)."""
    n = 0
    for line in block.split(b"\n"):
        if not line.startswith(b"data:") or line.strip() == b"data: [DONE]":
            continue
        try:
            chunk = json.loads(line[5:])
            delta = chunk["choices"][0].get("delta") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            continue
        if delta.get("content") or delta.get("reasoning_content") or delta.get("tool_calls"):
            n += 1
    return n


def _completion_tokens(body: bytes) -> int:
    try:
        usage = json.loads(body).get("usage") or {}
        return max(0, int(usage.get("completion_tokens") or 0))
    except (ValueError, TypeError, AttributeError):
        return 0


async def _paced_sse(raw: AsyncIterator[bytes], throttle: Throttle, sleep: Sleep) -> AsyncIterator[bytes]:
    """Forward whole SSE events, each token event no earlier than its slot at ``tokens_per_s``."""
    gap = 1.0 / throttle.tokens_per_s if throttle.tokens_per_s else 0.0
    buffer = b""
    next_slot: float | None = None
    async for piece in raw:
        buffer += piece
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            continue
        ready, buffer = buffer[: cut + 2], buffer[cut + 2 :]
        for _ in range(_token_events(ready)):
            now = time.monotonic()
            next_slot = now if next_slot is None else max(next_slot + gap, now)
            if next_slot > now:
                await sleep(next_slot - now)
        yield ready
    if buffer:
        yield buffer


async def throttled(raw: AsyncIterator[bytes], throttle: Throttle, event_stream: bool,
                    sleep: Sleep = asyncio.sleep) -> AsyncIterator[bytes]:
    """``raw`` (an upstream answer's bytes) as a throttled provider would send them."""
    if throttle.added_latency_s:
        await sleep(throttle.added_latency_s)
    if event_stream:
        async for block in _paced_sse(raw, throttle, sleep):
            yield block
        return
    body = b"".join([piece async for piece in raw])
    if throttle.tokens_per_s:
        await sleep(_completion_tokens(body) / throttle.tokens_per_s)
    yield body

"""Repairing a streamed answer whose tool call arrived as raw text (``repair_tool_calls``).

A stream holds back content that may be call text, as it holds tool-call
deltas (``_stream.StreamAttempt``). When the stream ends and the held text is
one family's complete calls to offered tools, valid against the request's
schemas (``ToolValidator.repair``, the same rule as for whole answers), the
held frames are replaced by what a server that parsed the call would have
sent: the prose before the call as a ``content`` delta (reasoning the family
delimits as ``reasoning_content``), one ``tool_calls`` delta per call, and a
last chunk with ``finish_reason: tool_calls`` (then usage, if the upstream
sent it). Text that already reached the client is never repeated.

The repair is noted as for whole answers. When nothing had been sent when the
stream ended (an answer that starts with the call: the usual case), the
response has not started either, and the ``x-parity-repaired`` header goes
out with it. Either way the stream carries an SSE comment just before
``[DONE]``, ``: x-parity-repaired: FAMILY`` (clients ignore comments; a
reader of the raw stream sees it), and the attempt's ``repaired`` names the
family in the gateway's access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parity.client import StreamAssembler
from parity.families import family, split_prose

from ._validation import REPAIRED_HEADER, ToolValidator


@dataclass(frozen=True, slots=True)
class StreamRepair:
    """The frames that replace the held ones, and what the repair was."""

    family: str
    frames: list[bytes]
    tool_calls: int


def _held_text(held: list[bytes]) -> tuple[str, str]:
    """The ``content`` and the reasoning text of choice 0 in the held frames (what the client
    has not seen)."""
    content: list[str] = []
    reasoning: list[str] = []
    for frame in held:
        try:
            chunk = orjson.loads(frame.removeprefix(b"data: "))
        except orjson.JSONDecodeError:
            continue
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for choice in choices if isinstance(choices, list) else ():
            delta = choice.get("delta") if isinstance(choice, dict) and choice.get("index", 0) == 0 else None
            if not isinstance(delta, dict):
                continue
            if isinstance(delta.get("content"), str):
                content.append(delta["content"])
            rc = delta.get("reasoning_content", delta.get("reasoning"))
            if isinstance(rc, str):
                reasoning.append(rc)
    return "".join(content), "".join(reasoning)


def _frame(meta: dict[str, Any], choices: list[dict[str, Any]], **extra: Any) -> bytes:
    chunk = {**meta, "object": "chat.completion.chunk", "choices": choices, **extra}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def repair_stream(validator: ToolValidator | None, tools: list[dict[str, Any]] | None, asm: StreamAssembler,
                  held: list[bytes], endpoint: str) -> StreamRepair | None:
    """Frames to send instead of ``held`` when the completed stream's leaked call text can be
    repaired (the validator repairs, and the call text is all in the held frames); else None."""
    if validator is None or not validator.repairs or not held:
        return None
    content = "".join(asm.content)
    unsent, held_reasoning = _held_text(held)
    sent = len(content) - len(unsent)
    fixed = validator.repair(tools, asm.result(), endpoint)
    if fixed is None or fixed.start < sent or not content.endswith(unsent):
        return None  # the call text began in what the client already has: it cannot be unsent
    message = fixed.response["choices"][0]["message"]
    fam = family(fixed.family)
    head = content[sent:fixed.start]
    reasoning, prose = split_prose(head, fam) if fam is not None else (None, None)
    if sent and prose:
        prose = head[:len(head) - len(head.lstrip())] + prose  # split_prose strips; keep the spacing
    meta = {k: v for k, v in asm.meta.items() if k in ("id", "created", "model", "system_fingerprint")}
    frames: list[bytes] = []
    if not asm.reasoning and reasoning:  # as for whole answers: delimited reasoning gets its field
        held_reasoning = reasoning
    if held_reasoning:
        frames.append(_frame(meta, [{"index": 0, "delta": {"reasoning_content": held_reasoning}}]))
    if prose:
        frames.append(_frame(meta, [{"index": 0, "delta": {"content": prose}}]))
    for i, call in enumerate(message["tool_calls"]):
        frames.append(_frame(meta, [{"index": 0, "delta": {"tool_calls": [{"index": i, **call}]}}]))
    frames.append(_frame(meta, [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]))
    if asm.usage is not None:
        frames.append(_frame(meta, [], usage=asm.usage))
    frames.append(f": {REPAIRED_HEADER}: {fixed.family}\n\n".encode())
    return StreamRepair(fixed.family, frames, fixed.tool_calls)

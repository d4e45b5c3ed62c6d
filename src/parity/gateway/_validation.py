"""In-flight validation: the verifier's own checks, run on every routed answer.

Tool calls are checked against the request's own ``tools``; a call left as raw
text in the answer (any registered family's syntax, parity.families) makes the
answer invalid, so the gateway tries another endpoint. An alias may instead
ask for *repair*: the family's parser turns the text into ``tool_calls``,
typed and validated against the request's schemas; only a repair that
validates is served, and it says so (``x-parity-repaired: FAMILY``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from parity.checks import ERROR_CLASSES, Finding, SchemaCache, check_call, check_markup, tool_index
from parity.exchange import Completion, ToolCall
from parity.families import (
    LONGEST_MARKER,
    Family,
    coerce_arguments,
    ends_in_delimiter_start,
    ends_in_marker_start,
    family,
    find_call_leak,
    find_delimiter_leak,
    marker_at,
    split_prose,
    starts_bare,
)

REPAIRED_HEADER = "x-parity-repaired"


@dataclass(frozen=True, slots=True)
class Repaired:
    """A response whose leaked call text was turned into ``tool_calls``."""

    family: str
    response: dict[str, Any]
    tool_calls: int
    start: int = 0  # where the call text started in the answer's content


class ToolValidator:
    """Checks tool calls against the request's own ``tools`` (invalid JSON, unknown name, schema)
    and raw call text left in the answer; ``families`` maps endpoint -> declared family."""

    def __init__(self, draft: str = "draft7", families: Mapping[str, str | None] | None = None,
                 repair: bool = False, schemas: SchemaCache | None = None) -> None:
        self.schemas = schemas or SchemaCache(draft)
        self._declared = dict(families or {})
        self.families: dict[str, Family | None] = {k: family(v) for k, v in self._declared.items()}
        self.repairs = repair
        self._repairing: ToolValidator | None = None

    def repairing(self) -> ToolValidator:
        """This validator, also repairing (for aliases that ask for it); schemas shared."""
        if self.repairs:
            return self
        if self._repairing is None:
            self._repairing = ToolValidator(families=self._declared, repair=True, schemas=self.schemas)
        return self._repairing

    def check(self, tools: list[dict[str, Any]] | None, completion: Completion,
              endpoint: str | None = None) -> list[Finding]:
        index = tool_index(tools or [])
        findings: list[Finding] = []
        for call in completion.tool_calls:
            # Only the endpoint's faults count: a request schema that does not compile is the client's.
            findings.extend(f for f in check_call(call, index, self.schemas) if f.check in ERROR_CLASSES)
        declared = self.families.get(endpoint or "")
        findings.extend(check_markup(completion, index or None, declared.name if declared else None))
        return findings

    def holds(self, pieces: list[str], seen: int, tools: bool) -> bool:
        """Whether streamed content (``pieces``, the first ``seen`` already tested) may hold call
        text: the new pieces and a marker's length before them are searched, so a stream is
        scanned about once overall. An answer that starts like JSON may be a bare call only
        when the request offered tools. A repairing validator also holds content from a reasoning
        delimiter on, so that a repair can still move the reasoning to its field."""
        at_start = all(not p.strip() for p in pieces[:seen])  # stops at the first real piece
        ctx: list[str] = []
        i, size = seen, 0
        while i > 0 and size < LONGEST_MARKER:
            i -= 1
            ctx.append(pieces[i])
            size += len(pieces[i])
        text = "".join([*reversed(ctx), *pieces[seen:]])
        if self.repairs and find_delimiter_leak(text) is not None:
            return True  # reasoning left in content: a repair moves it to reasoning_content
        return marker_at(text) >= 0 or (at_start and tools and starts_bare(text))

    def may_hold(self, pieces: list[str]) -> bool:
        """Whether streamed content ends with the start of a call marker (or, repairing, of a
        reasoning delimiter): held until the next piece."""
        tail, i = "", len(pieces)
        while i > 0 and len(tail) < LONGEST_MARKER:
            i -= 1
            tail = pieces[i] + tail
        return ends_in_marker_start(tail) or (self.repairs and ends_in_delimiter_start(tail))

    def repair(self, tools: list[dict[str, Any]] | None, response: Mapping[str, Any],
               endpoint: str | None = None) -> Repaired | None:
        """``response`` with its leaked call text parsed into ``tool_calls``, or None when the
        text is not one family's complete calls to offered tools with valid arguments."""
        choices = response.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
            return None
        message = choices[0].get("message")
        if not isinstance(message, dict) or message.get("tool_calls") or not isinstance(message.get("content"), str):
            return None
        index = tool_index(tools or [])
        content: str = message["content"]
        leak = find_call_leak(content, index, self.families.get(endpoint or ""))
        if leak is None or not leak.calls or any(c.name not in index for c in leak.calls):
            return None
        seed = hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()
        calls: list[dict[str, Any]] = []
        for i, parsed in enumerate(leak.calls):
            arguments = orjson.dumps(coerce_arguments(parsed.arguments, index[parsed.name])).decode()
            if check_call(ToolCall(index=i, name=parsed.name, arguments=arguments), index, self.schemas):
                return None
            calls.append({"id": f"call_{seed[:16]}{i}", "type": "function",
                          "function": {"name": parsed.name, "arguments": arguments}})
        fam = family(leak.family)
        reasoning, prose = split_prose(content[:leak.start], fam) if fam is not None else (None, None)
        fixed = {**message, "content": prose, "tool_calls": calls}
        if reasoning and not message.get("reasoning_content"):
            fixed["reasoning_content"] = reasoning
        choice = {**choices[0], "message": fixed, "finish_reason": "tool_calls"}
        return Repaired(leak.family, {**response, "choices": [choice]}, len(calls), leak.start)


def summarize(findings: list[Finding]) -> str:
    return "; ".join(f"{f.check}: {f.message}" for f in findings)[:500]


def is_empty(completion: Completion) -> bool:
    """An answer with nothing in it: no text, no reasoning, no call, and the model said it stopped."""
    return (not completion.content and not completion.reasoning_content and not completion.tool_calls
            and completion.finish_reason == "stop")

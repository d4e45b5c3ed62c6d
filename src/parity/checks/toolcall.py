"""Checks on tool calls: pure functions of (tools offered, completion) -> Findings.

The same functions run offline in the verifier and online in the gateway.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from parity.exchange import Completion, ToolCall
from parity.families import CallLeak, family, find_call_leak

from ._arguments import parse_arguments
from ._finding import Finding
from ._finish import finish_mismatch
from ._schema import InvalidSchema, SchemaCache

INVALID_JSON = "tool_call.invalid_json"
UNKNOWN_NAME = "tool_call.unknown_name"
SCHEMA_MISMATCH = "tool_call.schema_mismatch"
FINISH_MISMATCH = "tool_call.finish_reason_mismatch"
MARKUP_IN_CONTENT = "tool_call.markup_in_content"

ERROR_CLASSES = (INVALID_JSON, UNKNOWN_NAME, SCHEMA_MISMATCH)

def tool_index(tools: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tool name -> parameters schema, from a request's ``tools``."""
    out: dict[str, dict[str, Any]] = {}
    for t in tools:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out[fn["name"]] = params if isinstance(params, dict) else {"type": "object"}
    return out


def check_call(
    call: ToolCall, tools: dict[str, dict[str, Any]], schemas: SchemaCache
) -> list[Finding]:
    """invalid_json / unknown_name / schema_mismatch for one call (at most one error class)."""
    if call.name is None or call.name not in tools:
        return [Finding(check=UNKNOWN_NAME, tool_call_index=call.index,
                        message=f"tool {call.name!r} is not among the request's tools",
                        detail={"name": call.name, "offered": sorted(tools)[:20]})]
    value, error = parse_arguments(call)
    if error is not None:
        return [Finding(check=INVALID_JSON, tool_call_index=call.index,
                        message=f"arguments of {call.name!r} are not valid JSON: {error}",
                        detail={"arguments": call.arguments[:300]})]
    schema = tools[call.name]
    try:
        if schemas.is_valid(schema, value):
            return []
    except InvalidSchema as exc:
        return [Finding(check="tool.invalid_schema", tool_call_index=call.index,
                        message=f"the request's schema for {call.name!r} does not compile: {exc}")]
    errors = schemas.errors(schema, value)
    return [Finding(check=SCHEMA_MISMATCH, tool_call_index=call.index,
                    message=f"arguments of {call.name!r} do not match its schema: " + "; ".join(errors),
                    detail={"arguments": call.arguments[:300], "errors": errors})]


def check_tool_calls(
    tools: Sequence[dict[str, Any]], completion: Completion, schemas: SchemaCache,
    declared_family: str | None = None,
) -> list[Finding]:
    """Every check on a completion's tool calls, against the request's own ``tools``."""
    index = tool_index(tools)
    findings: list[Finding] = []
    for call in completion.tool_calls:
        findings.extend(check_call(call, index, schemas))
    findings.extend(check_finish_reason(completion))
    findings.extend(check_markup(completion, index, declared_family))
    return findings


def check_finish_reason(completion: Completion) -> list[Finding]:
    """Tool calls and finish_reason agree (the rule: ``checks/_finish.py``)."""
    why = finish_mismatch(completion)
    if why is None:
        return []
    return [Finding(check=FINISH_MISMATCH, message=why, detail={"finish_reason": completion.finish_reason})]


def markup_finding(leak: CallLeak, field: str, text: str) -> Finding:
    """The ``tool_call.markup_in_content`` finding for one leak (shared with the gateway)."""
    fam = family(leak.family)
    title = fam.title if fam is not None else leak.family
    start = max(0, leak.start - 40)
    what = "a JSON/pythonic call" if leak.marker == "(bare)" else repr(leak.marker)
    return Finding(check=MARKUP_IN_CONTENT,
                   message=f"raw {title} tool-call text ({what}) left in {field}",
                   detail={"family": leak.family, "field": field, "marker": leak.marker,
                           "calls": [c.name for c in leak.calls][:20],
                           "excerpt": text[start : leak.start + 120]})


def check_markup(
    completion: Completion, tools: Collection[str] | None = None, declared_family: str | None = None
) -> list[Finding]:
    """``tool_call.markup_in_content``: any registered family's raw call text in ``content`` or
    ``reasoning_content`` (a call the server failed to parse), naming the family.

    ``tools`` (the request's tool names) lets the bare formats (a JSON call
    object, a pythonic list) count when they are the whole answer; the
    endpoint's declared family is tried first, the others detected from the text.
    """
    declared = family(declared_family)
    findings: list[Finding] = []
    for field, text in (("content", completion.content), ("reasoning_content", completion.reasoning_content)):
        leak = find_call_leak(text, tools, declared)
        if leak is not None and text is not None:
            findings.append(markup_finding(leak, field, text))
    return findings

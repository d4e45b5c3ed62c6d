"""Checks on tool calls: pure functions of (tools offered, completion) -> Findings.

The same functions run offline in the verifier and online in the gateway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from parity.exchange import Completion, ToolCall

from ._finding import Finding
from ._finish import finish_mismatch
from ._schema import InvalidSchema, SchemaCache

INVALID_JSON = "tool_call.invalid_json"
UNKNOWN_NAME = "tool_call.unknown_name"
SCHEMA_MISMATCH = "tool_call.schema_mismatch"
FINISH_MISMATCH = "tool_call.finish_reason_mismatch"
MARKUP_IN_CONTENT = "tool_call.markup_in_content"

ERROR_CLASSES = (INVALID_JSON, UNKNOWN_NAME, SCHEMA_MISMATCH)

# Tool-call syntax of the major open-weight families, as it appears when a
# server's parser fails and passes the raw text through as content.
MARKUP = re.compile(
    r"<tool_call>|</tool_call>|<\|tool_calls_section_begin\|>|<\|tool_call_begin\|>"
    r"|<\|tool_call_argument_begin\|>|\[TOOL_CALLS\]|<\|python_tag\|>|<function=|<tool_calls>"
    r"|<｜tool▁calls▁begin｜>|<｜tool▁call▁begin｜>|<\|channel\|>commentary to=|<\|call\|>"
    r"|<\|im_start\|>|<\|im_end\|>|<\|start_header_id\|>|<\|eot_id\|>"
    r'|^\s*\{\s*"name"\s*:\s*"[^"]+"\s*,\s*"(?:arguments|parameters)"\s*:'
)


def tool_index(tools: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tool name -> parameters schema, from a request's ``tools``."""
    out: dict[str, dict[str, Any]] = {}
    for t in tools:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out[fn["name"]] = params if isinstance(params, dict) else {"type": "object"}
    return out


def parse_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """(value, None) or (None, why) for a call's argument string."""
    text = call.arguments.strip()
    if not text:
        return {}, None  # an empty string is how many servers send "no arguments"
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        return None, str(exc)


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
    tools: Sequence[dict[str, Any]], completion: Completion, schemas: SchemaCache
) -> list[Finding]:
    """Every check on a completion's tool calls, against the request's own ``tools``."""
    index = tool_index(tools)
    findings: list[Finding] = []
    for call in completion.tool_calls:
        findings.extend(check_call(call, index, schemas))
    findings.extend(check_finish_reason(completion))
    findings.extend(check_markup(completion))
    return findings


def check_finish_reason(completion: Completion) -> list[Finding]:
    """Tool calls and finish_reason agree (the rule: ``checks/_finish.py``)."""
    why = finish_mismatch(completion)
    if why is None:
        return []
    return [Finding(check=FINISH_MISMATCH, message=why, detail={"finish_reason": completion.finish_reason})]


def check_markup(completion: Completion) -> list[Finding]:
    text = completion.content or ""
    m = MARKUP.search(text)
    if m is None:
        return []
    start = max(0, m.start() - 40)
    return [Finding(check=MARKUP_IN_CONTENT,
                    message=f"tool-call markup {m.group(0).strip()!r} left in content",
                    detail={"excerpt": text[start : m.end() + 80]})]

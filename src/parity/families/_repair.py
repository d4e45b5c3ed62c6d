"""Typing recovered arguments against the request's schema.

The XML-like formats (GLM, Qwen3-Coder, MiniMax-M2, Kimi K3, DSML) and
Llama 4's pythonic template carry argument values as text; engines type them
from the tool's JSON Schema, and so does a repair here: top-level properties
only, a value changed only when the schema's type asks for it.
"""

from __future__ import annotations

import json
from typing import Any

from ._family import Family

_JSON_TYPES = frozenset({"integer", "number", "boolean", "object", "array", "null"})


def _types(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    return {x for x in t if isinstance(x, str)} if isinstance(t, list) else set()


def _fits(value: Any, types: set[str]) -> bool:
    checks = {"string": isinstance(value, str), "boolean": isinstance(value, bool),
              "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, int | float) and not isinstance(value, bool),
              "object": isinstance(value, dict), "array": isinstance(value, list), "null": value is None}
    return any(checks.get(t, False) for t in types)


def coerce_value(value: Any, schema: Any) -> Any:
    """``value`` converted to the type ``schema`` asks for, when it can be; else unchanged."""
    types = _types(schema)
    if not types or _fits(value, types):
        return value
    if isinstance(value, str) and types & _JSON_TYPES:
        try:
            parsed = json.loads(value)
        except ValueError:
            lowered = value.strip().lower()
            parsed = {"true": True, "false": False, "none": None}.get(lowered, value)
        return parsed if _fits(parsed, types) else value
    if "string" in types and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else (
            "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
    return value


def coerce_arguments(arguments: dict[str, Any], schema: Any) -> dict[str, Any]:
    """Each top-level argument typed by its property schema (unknown keys kept as they are)."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return dict(arguments)
    return {k: coerce_value(v, props.get(k)) for k, v in arguments.items()}


def _drop(text: str, tokens: tuple[str, ...]) -> str:
    for token in sorted(tokens, key=len, reverse=True):
        text = text.replace(token, "")
    return text.strip()


def split_prose(head: str, fam: Family) -> tuple[str | None, str | None]:
    """(reasoning, content) from the text before a leaked call: the reasoning is what precedes
    the family's last reasoning closer; delimiters and control tokens are dropped from both."""
    reasoning = ""
    for opener, closer in fam.reasoning:
        at = head.rfind(closer) if closer else -1
        if at >= 0:
            reasoning, head = head[:at], head[at + len(closer):]
            if opener and opener in reasoning:
                reasoning = reasoning.split(opener, 1)[1]
            break
    junk = (*fam.special_tokens, *fam.delimiters)
    return _drop(reasoning, junk) or None, _drop(head, junk) or None

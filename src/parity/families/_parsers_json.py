"""Parsers for the JSON and pythonic call formats (Hermes/Qwen3, MiniMax-M1, Mistral,
Llama 3.x JSON, Llama 4 pythonic, and the generic fallback).

Pure and total: malformed text yields fewer calls (possibly none), never an exception.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ._family import ParsedCall
from ._parse_util import (
    blocks,
    call,
    calls,
    json_or_none,
    json_values,
    lit,
    named_json,
)

_TOOL_CALL = lit("<tool_call>")
_S = re.DOTALL


# Hermes / Qwen2.5 / Qwen3: <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>
def hermes(text: str) -> list[ParsedCall]:
    return calls(named_json(json_or_none(body)) for _, body in blocks(text, _TOOL_CALL, "</tool_call>")
                  if body.strip().startswith("{"))


# MiniMax-M1: <tool_calls>\n{"name": …, "arguments": …}\n…</tool_calls>
def minimax_m1(text: str) -> list[ParsedCall]:
    return calls(named_json(v) for _, body in blocks(text, lit("<tool_calls>"), "</tool_calls>")
                  for v in json_values(body))


# Mistral: [TOOL_CALLS][{…}, …] (v3 tokenizer) or [TOOL_CALLS]NAME[CALL_ID]id[ARGS]{…} (v11+)
_MISTRAL_SEG = re.compile(r"\s*([^\s\[{]+?)(?:\[CALL_ID\][^\[]*)?\[ARGS\]", _S)


def mistral(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for seg in text.split("[TOOL_CALLS]")[1:]:
        seg = seg.lstrip()
        if seg.startswith("["):
            values = json_values(seg)
            items = values[0] if values and isinstance(values[0], list) else []
            out.extend(named_json(v) for v in items)
            continue
        m = _MISTRAL_SEG.match(seg)
        if m is not None:
            values = json_values(seg[m.end():])
            out.append(call(m.group(1), values[0] if values else None))
    return calls(out)


def _strip_end(text: str, tokens: tuple[str, ...]) -> str:
    text = text.strip()
    for token in tokens:
        text = text.removesuffix(token).rstrip()
    return text


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _py_call(node: ast.expr) -> ParsedCall | None:
    if not isinstance(node, ast.Call) or node.args:
        return None
    name = ast.unparse(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) else ""
    args: dict[str, Any] = {}
    for kw in node.keywords:
        ok, value = _literal(kw.value)
        if kw.arg is None or not ok:
            return None
        args[kw.arg] = value
    return call(name, args)


def _python(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


# Llama 4 (and Llama 3.2's pythonic option): [name(a="x", b=2), other()]
def pythonic(text: str) -> list[ParsedCall]:
    text = text.replace("<|python_start|>", "").replace("<|python_end|>", "").strip()
    if not text.startswith("["):
        return []  # ast.parse is dear: only a list can be one
    node = _python(_strip_end(text, ("<|eot|>", "<|eom|>", "<|eot_id|>", "<|eom_id|>")))
    if not isinstance(node, ast.List) or not node.elts:
        return []
    found = [_py_call(e) for e in node.elts]
    return [] if any(c is None for c in found) else calls(found)


# Llama 3.x: {"name": …, "parameters": {…}} (JSON tool calling), or <|python_tag|>tool.call(q="…")
def llama3(text: str) -> list[ParsedCall]:
    body = _strip_end(text.replace("<|python_tag|>", "", 1), ("<|eot_id|>", "<|eom_id|>"))
    if body.startswith("{"):
        values = json_values(body, whole=True)
        found = [named_json(v) for v in values]
        return [] if not found or any(c is None for c in found) else calls(found)
    node = _python(body)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call":
        call = _py_call(node)
        return [] if call is None else [ParsedCall(call.name.removesuffix(".call"), call.arguments)]
    return []


_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", _S)


# Any family: the whole answer is a JSON call object, or a list of them (maybe in a ```json fence).
def generic_json(text: str) -> list[ParsedCall]:
    fenced = _FENCE.match(text)
    values = json_values(fenced.group(1) if fenced else text, whole=True)
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    found = [named_json(v) for v in values]
    return [] if not found or any(c is None for c in found) else calls(found)

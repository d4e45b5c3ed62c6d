"""Parsers for the tagged call formats (control tokens or XML-like tags around each call).

Pure and total: malformed text yields fewer calls (possibly none), never an
exception. Each parser reads the format its family's official chat template
writes (tests/families renders the templates to check that). Values of the
XML-like formats are untyped text; ``loose`` reads JSON where it can and
keeps the string otherwise, and ``coerce_arguments`` (``_repair``) fixes the
types against the request's schema. Every block is read once (``blocks``).
"""

from __future__ import annotations

import html
import re
from typing import Any

from ._family import ParsedCall
from ._parse_util import (
    as_arguments,
    blocks,
    call,
    calls,
    json_or_none,
    lit,
    loose,
    tagged,
)

# Kimi K2.x: <|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{json}<|tool_call_end|>
_KIMI_OPEN = lit("<|tool_call_begin|>")
_KIMI_NAME = re.compile(r"\s*(?:functions\.)?([^\s<]+?)(?::\d+)?\s*\Z")


def kimi_k2(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in blocks(text, _KIMI_OPEN, "<|tool_call_end|>"):
        head, sep, args = body.partition("<|tool_call_argument_begin|>")
        name = _KIMI_NAME.match(head)
        out.append(call(name.group(1), args) if sep and name else None)
    return calls(out)


# Kimi K3 XTML: <|open|>call tool="NAME" index="1"<|sep|>…<|close|>call<|sep|>
_K3_CALL = re.compile(r"<\|open\|>call([^<]*)<\|sep\|>")
_K3_JSON = re.compile(r"<\|open\|>json[^<]*<\|sep\|>")
_K3_ARG = re.compile(r"<\|open\|>argument([^<]*)<\|sep\|>")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTR.findall(text)}


def _k3_body(body: str) -> dict[str, Any] | None:
    for _, block in blocks(body, _K3_JSON, "<|close|>json<|sep|>"):
        return as_arguments(block)
    out: dict[str, Any] = {}
    for m, value in blocks(body, _K3_ARG, "<|close|>argument<|sep|>"):
        attrs = _attrs(m.group(1))
        if "key" in attrs:
            out[attrs["key"]] = value if attrs.get("type") == "string" else loose(value)
    return out


def kimi_k3(text: str) -> list[ParsedCall]:
    return calls(call(_attrs(m.group(1)).get("tool", ""), _k3_body(body))
                  for m, body in blocks(text, _K3_CALL, "<|close|>call<|sep|>"))


# DeepSeek V3 / R1: <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{…}\n```<｜tool▁call▁end｜>
# DeepSeek V3.1:    <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}<｜tool▁call▁end｜>
_DS_OPEN = lit("<｜tool▁call▁begin｜>")
_DS_CLOSE = "<｜tool▁call▁end｜>"
_DS_V3 = re.compile(r"\w*<｜tool▁sep｜>([^\n<]+)\n```(?:json)?\n(.*)\n```\s*\Z", re.DOTALL)


def deepseek_v3(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in blocks(text, _DS_OPEN, _DS_CLOSE):
        m = _DS_V3.match(body)
        out.append(call(m.group(1), m.group(2)) if m else None)
    return calls(out)


def deepseek_v31(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in blocks(text, _DS_OPEN, _DS_CLOSE):
        name, sep, args = body.partition("<｜tool▁sep｜>")
        out.append(call(name, args) if sep and "<" not in name else None)
    return calls(out)


# DeepSeek V3.2 / V4 DSML: <｜DSML｜invoke name="NAME"><｜DSML｜parameter name="k" string="true">v</…>
_DSML_INVOKE = re.compile(r'<｜DSML｜invoke\s+name="([^"]+)"\s*>')
_DSML_PARAM = re.compile(r'<｜DSML｜parameter\s+name="([^"]+)"\s+string="(true|false)"\s*>')


def dsml(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for m, body in blocks(text, _DSML_INVOKE, "</｜DSML｜invoke>"):
        args = {p.group(1): value if p.group(2) == "true" else loose(value)
                for p, value in blocks(body, _DSML_PARAM, "</｜DSML｜parameter>")}
        out.append(call(m.group(1), args))
    return calls(out)


# GLM 4.5-5.x: <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
_TOOL_CALL = lit("<tool_call>")
_GLM_HEAD = re.compile(r"\s*([^\s<{\[]+)\s*")
_GLM_VALUE = re.compile(r"\s*<arg_value>")


def _glm_args(body: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, block in blocks(body, lit("<arg_key>"), "</arg_value>"):
        key, sep, rest = block.partition("</arg_key>")
        value = _GLM_VALUE.match(rest)
        if sep and value is not None:
            out[key.strip()] = loose(rest[value.end():])
    return out


def glm(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in blocks(text, _TOOL_CALL, "</tool_call>"):
        head = _GLM_HEAD.match(body)
        if head is not None:
            out.append(call(head.group(1), _glm_args(body[head.end():])))
    return calls(out)


# gpt-oss Harmony: [<|start|>assistant] to=functions.NAME<|channel|>commentary json<|message|>{…}<|call|>
_HARMONY = re.compile(r"to=functions\.([^\s<]{1,200})[^<]{0,200}(?:<\|channel\|>[^<]{0,200})?"
                      r"(?:<\|constrain\|>[^<]{0,200})?<\|message\|>")


def harmony(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    pos, lt = 0, -1
    while (i := text.find("to=functions.", pos)) >= 0:
        if lt < i:
            lt = text.find("<", i)  # found once per stretch, not once per occurrence: linear
        if lt < 0:
            break
        m = _HARMONY.match(text, i, min(len(text), lt + 800)) if lt - i <= 400 else None
        if m is None:
            pos = i + 1
            continue
        ends = [e for e in (text.find("<|call|>", m.end()), text.find("<|end|>", m.end())) if e >= 0]
        end = min(ends) if ends else len(text)
        out.append(call(m.group(1), text[m.end():end]))
        pos = end
    return calls(out)


# Qwen3-Coder: <function=NAME>\n<parameter=k>\nv\n</parameter>\n</function>
_QC_FUNC = re.compile(r"<function=([^>\s]+)>")
_QC_PARAM = re.compile(r"<parameter=([^>\s]+)>")


def qwen3_coder(text: str) -> list[ParsedCall]:
    return calls(call(m.group(1), tagged(body, _QC_PARAM, "</parameter>", strip_newline=True))
                  for m, body in blocks(text, _QC_FUNC, "</function>"))


# MiniMax-M2: <minimax:tool_call><invoke name="NAME"><parameter name="k">v</parameter></invoke>
_MM_INVOKE = re.compile(r'<invoke\s+name="([^"]+)"\s*>')
_MM_PARAM = re.compile(r'<parameter\s+name="([^"]+)"\s*>')


def minimax_m2(text: str) -> list[ParsedCall]:
    return calls(call(m.group(1), tagged(body, _MM_PARAM, "</parameter>"))
                  for m, body in blocks(text, _MM_INVOKE, "</invoke>"))


# Gemma 4: <|tool_call>call:NAME{key:<|"|>text<|"|>,n:3,o:{k-2:[1,true]}}<tool_call|>
# The template writes each key verbatim (digits, '-', '_', spaces, any letter: only ':' ends it),
# strings between <|"|> quotes, booleans as true/false, None as None, and nests {…} and […].
_GEMMA_OPEN = lit("<|tool_call>")
_GEMMA_CALL = re.compile(r"call:([^{<\s]+)\{")
_GEMMA_QUOTE = '<|"|>'
_GEMMA_WORDS: dict[str, Any] = {"true": True, "false": False, "True": True, "False": False,
                                "None": None, "null": None}
_GEMMA_DEPTH = 64


class _Bad(Exception):
    """Not Gemma's argument syntax."""


def _gemma_value(text: str, i: int, depth: int) -> tuple[Any, int]:
    if depth > _GEMMA_DEPTH:
        raise _Bad
    if text.startswith(_GEMMA_QUOTE, i):
        end = text.find(_GEMMA_QUOTE, i + len(_GEMMA_QUOTE))
        if end < 0:
            raise _Bad
        return text[i + len(_GEMMA_QUOTE):end], end + len(_GEMMA_QUOTE)
    if text.startswith("{", i):
        return _gemma_object(text, i + 1, depth + 1)
    if text.startswith("[", i):
        items: list[Any] = []
        i += 1
        while not text.startswith("]", i):
            value, i = _gemma_value(text, i, depth + 1)
            items.append(value)
            if text.startswith(",", i):
                i += 1
            elif not text.startswith("]", i):
                raise _Bad
        return items, i + 1
    end = i
    while end < len(text) and text[end] not in ",}]":
        end += 1
    word = text[i:end].strip()
    if not word:
        raise _Bad
    if word in _GEMMA_WORDS:
        return _GEMMA_WORDS[word], end
    number = json_or_none(word)
    return (number if isinstance(number, int | float) else word), end


def _gemma_object(text: str, i: int, depth: int) -> tuple[dict[str, Any], int]:
    """The members of an object whose ``{`` ends before ``i``, and where its ``}`` ends."""
    out: dict[str, Any] = {}
    while not text.startswith("}", i):
        colon = text.find(":", i)
        if colon < 0:
            raise _Bad
        key = text[i:colon]
        if key.startswith(_GEMMA_QUOTE) and key.endswith(_GEMMA_QUOTE) and len(key) > 2 * len(_GEMMA_QUOTE):
            key = key[len(_GEMMA_QUOTE):-len(_GEMMA_QUOTE)]  # the tool-declaration form quotes keys
        out[key], i = _gemma_value(text, colon + 1, depth)
        if text.startswith(",", i):
            i += 1
        elif not text.startswith("}", i):
            raise _Bad
    return out, i + 1


def gemma_arguments(body: str) -> dict[str, Any] | None:
    """Gemma 4's argument object (``{key:value,…}``, the whole of ``body``) as a dict, or None."""
    if not body.startswith("{"):
        return None
    try:
        value, end = _gemma_object(body, 1, 0)
    except _Bad:
        return None
    return value if not body[end:].strip() else None


def gemma4(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in blocks(text, _GEMMA_OPEN, "<tool_call|>"):
        m = _GEMMA_CALL.match(body)
        out.append(call(m.group(1), gemma_arguments(body[m.end() - 1:].rstrip())) if m else None)
    return calls(out)

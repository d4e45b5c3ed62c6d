"""Parsers from each family's raw call text to ``ParsedCall``s.

Pure and total: malformed text yields fewer calls (possibly none), never an
exception. Each parser reads the format its family's official chat template
writes (tests render the templates to check that). Values of the XML-like
formats are untyped text; ``_loose`` reads JSON where it can and keeps the
string otherwise, and ``coerce`` (in ``_repair``) fixes the types against the
request's schema.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ._family import ParsedCall

_S = re.DOTALL


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _loose(text: str) -> Any:
    """JSON if the text is JSON, else the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _args(value: Any) -> dict[str, Any] | None:
    """An arguments object; a JSON string holding one (some formats double-encode) is read too."""
    if isinstance(value, str):
        value = _json(value)
    return value if isinstance(value, dict) else None


def _call(name: str, arguments: Any) -> ParsedCall | None:
    args = _args(arguments)
    name = name.strip()
    if not name or args is None:
        return None
    return ParsedCall(name, args)


def _calls(items: Iterable[ParsedCall | None]) -> list[ParsedCall]:
    return [c for c in items if c is not None]


def _named_json(obj: Any) -> ParsedCall | None:
    """``{"name": ..., "arguments" | "parameters": {...}}``."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    return _call(obj["name"], args)


def _json_values(text: str, whole: bool = False) -> list[Any]:
    """Consecutive JSON values at the start of ``text`` (separated by whitespace, ';' or ',');
    with ``whole``, none unless they make up all of ``text``."""
    out: list[Any] = []
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n;,":
            i += 1
        if i >= n:
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            return [] if whole else out
        out.append(value)
    return out


def _blocks(text: str, opener: re.Pattern[str], closer: str) -> Iterator[tuple[re.Match[str], str]]:
    """Each ``opener`` match and the text up to the next ``closer``: one pass over ``text``.

    (A lazy ``(.*?)CLOSE`` regex rescans to the end of the text from every
    opener that has no closer: quadratic on hostile output, seconds on 30 KB.)
    """
    pos = 0
    while (m := opener.search(text, pos)) is not None:
        end = text.find(closer, m.end())
        if end < 0:
            return
        yield m, text[m.end():end]
        pos = end + len(closer)


def _lit(s: str) -> re.Pattern[str]:
    return re.compile(re.escape(s))


def _tagged(body: str, opener: re.Pattern[str], closer: str, strip_newline: bool = False) -> dict[str, Any]:
    """``{group(1): value}`` for each tagged value in ``body`` (XML-like parameter lists)."""
    out: dict[str, Any] = {}
    for m, value in _blocks(body, opener, closer):
        if strip_newline:
            value = value.removeprefix("\n").removesuffix("\n")
        out[html.unescape(m.group(1)).strip()] = _loose(value)
    return out


# Kimi K2.x: <|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{json}<|tool_call_end|>
_KIMI_OPEN = _lit("<|tool_call_begin|>")
_KIMI_NAME = re.compile(r"\s*(?:functions\.)?([^\s<]+?)(?::\d+)?\s*\Z")


def kimi_k2(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in _blocks(text, _KIMI_OPEN, "<|tool_call_end|>"):
        head, sep, args = body.partition("<|tool_call_argument_begin|>")
        name = _KIMI_NAME.match(head)
        out.append(_call(name.group(1), args) if sep and name else None)
    return _calls(out)


# Kimi K3 XTML: <|open|>call tool="NAME" index="1"<|sep|>…<|close|>call<|sep|>
_K3_CALL = re.compile(r"<\|open\|>call([^<]*)<\|sep\|>")
_K3_JSON = re.compile(r"<\|open\|>json[^<]*<\|sep\|>")
_K3_ARG = re.compile(r"<\|open\|>argument([^<]*)<\|sep\|>")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTR.findall(text)}


def _k3_body(body: str) -> dict[str, Any] | None:
    for _, block in _blocks(body, _K3_JSON, "<|close|>json<|sep|>"):
        return _args(block)
    out: dict[str, Any] = {}
    for m, value in _blocks(body, _K3_ARG, "<|close|>argument<|sep|>"):
        attrs = _attrs(m.group(1))
        if "key" in attrs:
            out[attrs["key"]] = value if attrs.get("type") == "string" else _loose(value)
    return out


def kimi_k3(text: str) -> list[ParsedCall]:
    return _calls(_call(_attrs(m.group(1)).get("tool", ""), _k3_body(body))
                  for m, body in _blocks(text, _K3_CALL, "<|close|>call<|sep|>"))


# DeepSeek V3 / R1: <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{…}\n```<｜tool▁call▁end｜>
# DeepSeek V3.1:    <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}<｜tool▁call▁end｜>
_DS_OPEN = _lit("<｜tool▁call▁begin｜>")
_DS_CLOSE = "<｜tool▁call▁end｜>"
_DS_V3 = re.compile(r"\w*<｜tool▁sep｜>([^\n<]+)\n```(?:json)?\n(.*)\n```\s*\Z", re.DOTALL)


def deepseek_v3(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in _blocks(text, _DS_OPEN, _DS_CLOSE):
        m = _DS_V3.match(body)
        out.append(_call(m.group(1), m.group(2)) if m else None)
    return _calls(out)


def deepseek_v31(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in _blocks(text, _DS_OPEN, _DS_CLOSE):
        name, sep, args = body.partition("<｜tool▁sep｜>")
        out.append(_call(name, args) if sep and "<" not in name else None)
    return _calls(out)


# DeepSeek V3.2 / V4 DSML: <｜DSML｜invoke name="NAME"><｜DSML｜parameter name="k" string="true">v</…>
_DSML_INVOKE = re.compile(r'<｜DSML｜invoke\s+name="([^"]+)"\s*>')
_DSML_PARAM = re.compile(r'<｜DSML｜parameter\s+name="([^"]+)"\s+string="(true|false)"\s*>')


def dsml(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for m, body in _blocks(text, _DSML_INVOKE, "</｜DSML｜invoke>"):
        args = {p.group(1): value if p.group(2) == "true" else _loose(value)
                for p, value in _blocks(body, _DSML_PARAM, "</｜DSML｜parameter>")}
        out.append(_call(m.group(1), args))
    return _calls(out)


# GLM 4.5-5.x: <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
_TOOL_CALL = _lit("<tool_call>")
_GLM_HEAD = re.compile(r"\s*([^\s<{\[]+)\s*")
_GLM_VALUE = re.compile(r"\s*<arg_value>")


def _glm_args(body: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, block in _blocks(body, _lit("<arg_key>"), "</arg_value>"):
        key, sep, rest = block.partition("</arg_key>")
        value = _GLM_VALUE.match(rest)
        if sep and value is not None:
            out[key.strip()] = _loose(rest[value.end():])
    return out


def glm(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in _blocks(text, _TOOL_CALL, "</tool_call>"):
        head = _GLM_HEAD.match(body)
        if head is not None:
            out.append(_call(head.group(1), _glm_args(body[head.end():])))
    return _calls(out)


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
        out.append(_call(m.group(1), text[m.end():end]))
        pos = end
    return _calls(out)


# Hermes / Qwen2.5 / Qwen3: <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>
def hermes(text: str) -> list[ParsedCall]:
    return _calls(_named_json(_json(body)) for _, body in _blocks(text, _TOOL_CALL, "</tool_call>")
                  if body.strip().startswith("{"))


# Qwen3-Coder: <function=NAME>\n<parameter=k>\nv\n</parameter>\n</function>
_QC_FUNC = re.compile(r"<function=([^>\s]+)>")
_QC_PARAM = re.compile(r"<parameter=([^>\s]+)>")


def qwen3_coder(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _tagged(body, _QC_PARAM, "</parameter>", strip_newline=True))
                  for m, body in _blocks(text, _QC_FUNC, "</function>"))


# MiniMax-M2: <minimax:tool_call><invoke name="NAME"><parameter name="k">v</parameter></invoke>
_MM_INVOKE = re.compile(r'<invoke\s+name="([^"]+)"\s*>')
_MM_PARAM = re.compile(r'<parameter\s+name="([^"]+)"\s*>')


def minimax_m2(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _tagged(body, _MM_PARAM, "</parameter>"))
                  for m, body in _blocks(text, _MM_INVOKE, "</invoke>"))


# MiniMax-M1: <tool_calls>\n{"name": …, "arguments": …}\n…</tool_calls>
def minimax_m1(text: str) -> list[ParsedCall]:
    return _calls(_named_json(v) for _, body in _blocks(text, _lit("<tool_calls>"), "</tool_calls>")
                  for v in _json_values(body))


# Mistral: [TOOL_CALLS][{…}, …] (v3 tokenizer) or [TOOL_CALLS]NAME[CALL_ID]id[ARGS]{…} (v11+)
_MISTRAL_SEG = re.compile(r"\s*([^\s\[{]+?)(?:\[CALL_ID\][^\[]*)?\[ARGS\]", _S)


def mistral(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for seg in text.split("[TOOL_CALLS]")[1:]:
        seg = seg.lstrip()
        if seg.startswith("["):
            values = _json_values(seg)
            items = values[0] if values and isinstance(values[0], list) else []
            out.extend(_named_json(v) for v in items)
            continue
        m = _MISTRAL_SEG.match(seg)
        if m is not None:
            values = _json_values(seg[m.end():])
            out.append(_call(m.group(1), values[0] if values else None))
    return _calls(out)


# Gemma 4: <|tool_call>call:NAME{key:<|"|>text<|"|>,n:3,o:{…}}<tool_call|>
_GEMMA_OPEN = _lit("<|tool_call>")
_GEMMA_CALL = re.compile(r"call:([\w.\-]+)(\{.*\})\s*\Z", re.DOTALL)
_GEMMA_KEY = re.compile(r"([{,])\s*([A-Za-z_][\w.\-]*)\s*:")
_GEMMA_WORDS = {"None": "null", "True": "true", "False": "false"}
_GEMMA_WORD = re.compile(r"\b(None|True|False)\b")
_GEMMA_QUOTE = '<|"|>'


def _gemma_json(body: str) -> Any:
    """Gemma's argument syntax (bare keys, <|"|>-quoted strings) rewritten as JSON."""
    parts = body.split(_GEMMA_QUOTE)
    if len(parts) % 2 == 0:
        return None  # an unclosed string
    return _json("".join(_gemma_plain(p) if i % 2 == 0 else json.dumps(p, ensure_ascii=False)
                         for i, p in enumerate(parts)))


def _gemma_plain(text: str) -> str:
    text = _GEMMA_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', text)
    return _GEMMA_WORD.sub(lambda m: _GEMMA_WORDS[m.group(1)], text)


def gemma4(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for _, body in _blocks(text, _GEMMA_OPEN, "<tool_call|>"):
        m = _GEMMA_CALL.match(body)
        out.append(_call(m.group(1), _gemma_json(m.group(2))) if m else None)
    return _calls(out)


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
    return _call(name, args)


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
    calls = [_py_call(e) for e in node.elts]
    return [] if any(c is None for c in calls) else _calls(calls)


# Llama 3.x: {"name": …, "parameters": {…}} (JSON tool calling), or <|python_tag|>tool.call(q="…")
def llama3(text: str) -> list[ParsedCall]:
    body = _strip_end(text.replace("<|python_tag|>", "", 1), ("<|eot_id|>", "<|eom_id|>"))
    if body.startswith("{"):
        values = _json_values(body, whole=True)
        calls = [_named_json(v) for v in values]
        return [] if not calls or any(c is None for c in calls) else _calls(calls)
    node = _python(body)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call":
        call = _py_call(node)
        return [] if call is None else [ParsedCall(call.name.removesuffix(".call"), call.arguments)]
    return []


_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", _S)


# Any family: the whole answer is a JSON call object, or a list of them (maybe in a ```json fence).
def generic_json(text: str) -> list[ParsedCall]:
    fenced = _FENCE.match(text)
    values = _json_values(fenced.group(1) if fenced else text, whole=True)
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    calls = [_named_json(v) for v in values]
    return [] if not calls or any(c is None for c in calls) else _calls(calls)

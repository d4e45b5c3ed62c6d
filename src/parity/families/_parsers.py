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
from collections.abc import Iterable
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


def _pairs(pattern: re.Pattern[str], body: str) -> dict[str, Any]:
    return {m.group(1).strip(): _loose(m.group(2)) for m in pattern.finditer(body)}


# Kimi K2.x: <|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{json}<|tool_call_end|>
_KIMI_K2 = re.compile(r"<\|tool_call_begin\|>\s*(?:functions\.)?([^\s<]+?)(?::\d+)?\s*"
                      r"<\|tool_call_argument_begin\|>(.*?)<\|tool_call_end\|>", _S)


def kimi_k2(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), m.group(2)) for m in _KIMI_K2.finditer(text))


# Kimi K3 XTML: <|open|>call tool="NAME" index="1"<|sep|>…<|close|>call<|sep|>
_K3_CALL = re.compile(r"<\|open\|>call([^<]*)<\|sep\|>(.*?)<\|close\|>call<\|sep\|>", _S)
_K3_JSON = re.compile(r"<\|open\|>json[^<]*<\|sep\|>(.*?)<\|close\|>json<\|sep\|>", _S)
_K3_ARG = re.compile(r"<\|open\|>argument([^<]*)<\|sep\|>(.*?)<\|close\|>argument<\|sep\|>", _S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTR.findall(text)}


def _k3_body(body: str) -> dict[str, Any] | None:
    block = _K3_JSON.search(body)
    if block is not None:
        return _args(block.group(1))
    out: dict[str, Any] = {}
    for m in _K3_ARG.finditer(body):
        attrs = _attrs(m.group(1))
        if "key" in attrs:
            out[attrs["key"]] = m.group(2) if attrs.get("type") == "string" else _loose(m.group(2))
    return out


def kimi_k3(text: str) -> list[ParsedCall]:
    return _calls(_call(_attrs(m.group(1)).get("tool", ""), _k3_body(m.group(2)))
                  for m in _K3_CALL.finditer(text))


# DeepSeek V3 / R1: <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{…}\n```<｜tool▁call▁end｜>
_DS_V3 = re.compile(r"<｜tool▁call▁begin｜>\w*<｜tool▁sep｜>([^\n<]+)\n```(?:json)?\n(.*?)\n```\s*"
                    r"<｜tool▁call▁end｜>", _S)
# DeepSeek V3.1: <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}<｜tool▁call▁end｜>
_DS_V31 = re.compile(r"<｜tool▁call▁begin｜>([^<]+?)<｜tool▁sep｜>(.*?)<｜tool▁call▁end｜>", _S)


def deepseek_v3(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), m.group(2)) for m in _DS_V3.finditer(text))


def deepseek_v31(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), m.group(2)) for m in _DS_V31.finditer(text))


# DeepSeek V3.2 / V4 DSML: <｜DSML｜invoke name="NAME"><｜DSML｜parameter name="k" string="true">v</…>
_DSML_INVOKE = re.compile(r'<｜DSML｜invoke\s+name="([^"]+)"\s*>(.*?)</｜DSML｜invoke>', _S)
_DSML_PARAM = re.compile(r'<｜DSML｜parameter\s+name="([^"]+)"\s+string="(true|false)"\s*>(.*?)'
                         r"</｜DSML｜parameter>", _S)


def dsml(text: str) -> list[ParsedCall]:
    out: list[ParsedCall | None] = []
    for m in _DSML_INVOKE.finditer(text):
        args = {p.group(1): p.group(3) if p.group(2) == "true" else _loose(p.group(3))
                for p in _DSML_PARAM.finditer(m.group(2))}
        out.append(_call(m.group(1), args))
    return _calls(out)


# GLM 4.5-5.x: <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
_GLM_CALL = re.compile(r"<tool_call>\s*([^\s<{\[]+)\s*(.*?)</tool_call>", _S)
_GLM_ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", _S)


def glm(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _pairs(_GLM_ARG, m.group(2))) for m in _GLM_CALL.finditer(text))


# gpt-oss Harmony: [<|start|>assistant] to=functions.NAME<|channel|>commentary json<|message|>{…}<|call|>
_HARMONY = re.compile(r"to=functions\.([^\s<]+)[^<]*(?:<\|channel\|>[^<]*)?(?:<\|constrain\|>[^<]*)?"
                      r"<\|message\|>(.*?)(?:<\|call\|>|<\|end\|>|\Z)", _S)


def harmony(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), m.group(2)) for m in _HARMONY.finditer(text))


# Hermes / Qwen2.5 / Qwen3: <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>
_HERMES = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", _S)


def hermes(text: str) -> list[ParsedCall]:
    return _calls(_named_json(_json(m.group(1))) for m in _HERMES.finditer(text))


# Qwen3-Coder: <function=NAME>\n<parameter=k>\nv\n</parameter>\n</function>
_QC_FUNC = re.compile(r"<function=([^>\s]+)>(.*?)</function>", _S)
_QC_PARAM = re.compile(r"<parameter=([^>\s]+)>\n?(.*?)\n?</parameter>", _S)


def qwen3_coder(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _pairs(_QC_PARAM, m.group(2))) for m in _QC_FUNC.finditer(text))


# MiniMax-M2: <minimax:tool_call><invoke name="NAME"><parameter name="k">v</parameter></invoke>
_MM_INVOKE = re.compile(r'<invoke\s+name="([^"]+)"\s*>(.*?)</invoke>', _S)
_MM_PARAM = re.compile(r'<parameter\s+name="([^"]+)"\s*>(.*?)</parameter>', _S)


def minimax_m2(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _pairs(_MM_PARAM, m.group(2))) for m in _MM_INVOKE.finditer(text))


# MiniMax-M1: <tool_calls>\n{"name": …, "arguments": …}\n…</tool_calls>
_MM1 = re.compile(r"<tool_calls>(.*?)</tool_calls>", _S)


def minimax_m1(text: str) -> list[ParsedCall]:
    return _calls(_named_json(v) for m in _MM1.finditer(text) for v in _json_values(m.group(1)))


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
_GEMMA_CALL = re.compile(r"<\|tool_call>call:([\w.\-]+)(\{.*?\})<tool_call\|>", _S)
_GEMMA_STR = re.compile(r'<\|"\|>(.*?)<\|"\|>', _S)
_GEMMA_KEY = re.compile(r"([{,])\s*([A-Za-z_][\w.\-]*)\s*:")
_GEMMA_WORDS = {"None": "null", "True": "true", "False": "false"}
_GEMMA_WORD = re.compile(r"\b(None|True|False)\b")


def _gemma_json(body: str) -> Any:
    """Gemma's argument syntax (bare keys, <|"|>-quoted strings) rewritten as JSON."""
    parts: list[str] = []
    at = 0
    for m in _GEMMA_STR.finditer(body):
        parts.append(_gemma_plain(body[at:m.start()]))
        parts.append(json.dumps(m.group(1), ensure_ascii=False))
        at = m.end()
    parts.append(_gemma_plain(body[at:]))
    return _json("".join(parts))


def _gemma_plain(text: str) -> str:
    text = _GEMMA_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', text)
    return _GEMMA_WORD.sub(lambda m: _GEMMA_WORDS[m.group(1)], text)


def gemma4(text: str) -> list[ParsedCall]:
    return _calls(_call(m.group(1), _gemma_json(m.group(2))) for m in _GEMMA_CALL.finditer(text))


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

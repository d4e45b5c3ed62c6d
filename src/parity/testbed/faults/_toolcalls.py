"""Response faults on a complete (non-streamed) chat completion, as pure functions.

Each function edits the first choice of ``response`` in place and says whether
it could. Tool-call faults need a call to corrupt: when the upstream answered
without one, a call to one of the request's tools is synthesised with
plausible arguments, so that a configured rate is a rate of observable faults.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from parity.families import family
from parity.testbed.faults._config import FaultMode
from parity.testbed.faults._leaks import Leak, leak_call, leak_reasoning

_QWEN3 = family("qwen3")
assert _QWEN3 is not None
DEFAULT_LEAK = Leak(_QWEN3, None)

FOREIGN_SNIPPETS = ("สวัสดีครับ", "ภาษาไทย", "中文字符", "東京都", "한국어")


def request_functions(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``function`` objects of the request's tools."""
    tools = request.get("tools") or []
    return [
        t["function"] for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]


def _example(schema: Mapping[str, Any], rng: random.Random) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    examples: dict[str, Any] = {
        "integer": rng.randint(1, 9),
        "number": rng.randint(1, 90) / 10,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }
    return examples.get(str(kind), rng.choice(("Paris", "example", "42 Main Street")))


def synthesise_arguments(parameters: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """Values for the required properties (or the first one), each of its declared type."""
    properties = parameters.get("properties") or {}
    names = list(parameters.get("required") or list(properties)[:1])
    return {n: _example(properties.get(n, {}), rng) for n in names}


def ensure_tool_call(
    request: Mapping[str, Any], response: dict[str, Any], rng: random.Random
) -> bool:
    """Make sure the first choice holds a tool call; False if the request offers none."""
    message = response["choices"][0]["message"]
    if message.get("tool_calls"):
        return True
    functions = request_functions(request)
    if not functions or request.get("tool_choice") == "none":
        return False
    function = rng.choice(functions)
    arguments = synthesise_arguments(function.get("parameters") or {}, rng)
    message["tool_calls"] = [
        {
            "id": f"call_{rng.getrandbits(64):016x}",
            "type": "function",
            "function": {"name": function["name"], "arguments": json.dumps(arguments)},
        }
    ]
    message["content"] = None
    response["choices"][0]["finish_reason"] = "tool_calls"
    return True


def _parse(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return None


def break_json(arguments: str, rng: random.Random) -> str:
    """Unparseable arguments, the way broken parsers produce them (truncated, or single-quoted)."""
    candidates = [arguments[:-1], arguments.replace('"', "'"), arguments + "}", "{" + arguments]
    rng.shuffle(candidates)
    return next(c for c in candidates if c and _parse(c) is None and c != arguments)


def violate_schema(arguments: Any, parameters: Mapping[str, Any], rng: random.Random) -> Any:
    """Still-valid JSON that breaks the schema: a required key dropped or a type changed."""
    if not isinstance(arguments, dict):
        arguments = synthesise_arguments(parameters, rng)
    required = [r for r in parameters.get("required") or [] if r in arguments]
    if required:
        arguments.pop(rng.choice(required))
        return arguments
    typed = [(k, s) for k, s in (parameters.get("properties") or {}).items() if "type" in s]
    if typed:
        key, schema = rng.choice(typed)
        wrong = {"string": 12345, "integer": "twelve", "number": "twelve", "boolean": "yes"}
        arguments[key] = wrong.get(str(schema["type"]), "not-" + str(schema["type"]))
        return arguments
    return [arguments]  # no properties to break: an array where an object is expected


def _corrupt_call(
    mode: FaultMode, request: Mapping[str, Any], call: dict[str, Any], rng: random.Random
) -> None:
    function = call["function"]
    if mode is FaultMode.INVALID_JSON:
        function["arguments"] = break_json(function.get("arguments") or "{}", rng)
    elif mode is FaultMode.UNKNOWN_NAME:
        known = {f.get("name") for f in request_functions(request)}
        name = f"functions.{function['name']}"
        while name in known:
            name += "_v2"
        function["name"] = name
    elif mode is FaultMode.SCHEMA_MISMATCH:
        schemas = {f.get("name"): f.get("parameters") or {} for f in request_functions(request)}
        parsed = _parse(function.get("arguments") or "")
        broken = violate_schema(parsed, schemas.get(function["name"], {}), rng)
        function["arguments"] = json.dumps(broken)


def inject_foreign_script(response: dict[str, Any], rng: random.Random) -> bool:
    """Foreign characters in content, or in a string argument when there is no content."""
    message = response["choices"][0]["message"]
    snippet = rng.choice(FOREIGN_SNIPPETS)
    content = message.get("content")
    if isinstance(content, str) and content:
        at = rng.randint(0, len(content))
        message["content"] = content[:at] + snippet + content[at:]
        return True
    for call in message.get("tool_calls") or []:
        arguments = _parse(call["function"].get("arguments") or "")
        if isinstance(arguments, dict):
            keys = [k for k, v in arguments.items() if isinstance(v, str)]
            if keys:
                arguments[keys[0]] = arguments[keys[0]] + snippet
                call["function"]["arguments"] = json.dumps(arguments, ensure_ascii=False)
                return True
    message["content"] = snippet  # nothing to corrupt: garbage tokens as the whole answer
    return True


def apply_response_fault(
    mode: FaultMode, request: Mapping[str, Any], response: dict[str, Any], rng: random.Random,
    leak: Leak | None = None,
) -> bool:
    """Apply ``mode`` to a non-streamed completion; False when it cannot apply. ``leak`` is
    the family markup_leak and reasoning_leak write (default: Qwen3's call syntax)."""
    if not response.get("choices") or "message" not in response["choices"][0]:
        return False
    leak = leak or DEFAULT_LEAK
    if mode is FaultMode.FOREIGN_SCRIPT:
        return inject_foreign_script(response, rng)
    if mode is FaultMode.REASONING_LEAK:
        return leak_reasoning(response, leak)
    if not ensure_tool_call(request, response, rng):
        return False
    if mode is FaultMode.MARKUP_LEAK:
        leak_call(response, dict(request), leak)
        return True
    calls = response["choices"][0]["message"]["tool_calls"]
    _corrupt_call(mode, request, rng.choice(calls), rng)
    return True

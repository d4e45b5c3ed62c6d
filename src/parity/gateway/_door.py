"""What a client request must be before any endpoint is tried: the door's checks.

The gateway forwards a request's body untouched, so anything an endpoint
cannot take -- a body nested deeper than any encoder will write, a ``tools``
entry a provider's parser chokes on, a parameter schema no answer can satisfy
-- would otherwise come back as an endpoint's failure. Such requests are the
client's to fix: they get a 400 here, and no endpoint is charged for them.
What the door cannot see (a schema that only looks satisfiable) is left to
attribution (_blame).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from parity.checks import SchemaCache
from parity.checks._schema import InvalidSchema

from ._errors import GatewayError, bad_request

MAX_DEPTH = 64  # containers inside containers; orjson will not write past 254, no real request nears 64
MAX_TOOLS = 256
MAX_SCHEMA_NODES = 5_000
TOOL_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else",
                  "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems")
_RANGES = (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"),
           ("minProperties", "maxProperties"), ("exclusiveMinimum", "maximum"), ("minimum", "exclusiveMaximum"))
_REFS = ("$ref", "$dynamicRef", "$recursiveRef")


def check_depth(body: Any, raw: bytes, limit: int = MAX_DEPTH) -> None:
    """400 when containers nest deeper than ``limit`` (iterative: no recursion to exhaust).
    ``raw`` is the body's text: with no more brackets than ``limit`` it cannot be too deep."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise bad_request(f"the body nests deeper than {limit} levels", code="too_deep")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


class ToolsDoor:
    """``check_tools`` with its verdicts remembered: clients send the same tools again and again."""

    def __init__(self, schemas: SchemaCache, maxsize: int = 1024) -> None:
        self.schemas = schemas
        self._seen: dict[bytes, GatewayError | None] = {}
        self._maxsize = maxsize

    def check(self, tools: Any) -> list[dict[str, Any]] | None:
        if tools is None:
            return None
        try:
            key = orjson.dumps(tools)
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: not a tool list anyone serves
            raise bad_request("'tools' holds values that cannot be forwarded", param="tools") from None
        if key in self._seen:
            err = self._seen[key]
        else:
            try:
                check_tools(tools, self.schemas)
                err = None
            except GatewayError as exc:
                err = exc
            if len(self._seen) >= self._maxsize:
                self._seen.clear()
            self._seen[key] = err
        if err is not None:
            raise GatewayError(err.status, err.message, param=err.param, code=err.code)
        checked: list[dict[str, Any]] = tools
        return checked


def check_tools(tools: Any, schemas: SchemaCache) -> list[dict[str, Any]] | None:
    """``tools`` as the gateway will validate calls against; GatewayError(400) if malformed."""
    if tools is None:
        return None
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise bad_request(f"'tools' must be an array of at most {MAX_TOOLS} tools", param="tools")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise bad_request(f"{where}: must be an object with type 'function'", param=where)
        fn = tool.get("function")
        if not isinstance(fn, dict):
            raise bad_request(f"{where}.function: must be an object", param=f"{where}.function")
        name = fn.get("name")
        if not isinstance(name, str) or TOOL_NAME.fullmatch(name) is None:
            raise bad_request(f"{where}.function.name: must be 1-64 letters, digits, '_', '-', '.' or ':'",
                              param=f"{where}.function.name")
        if name in names:
            raise bad_request(f"{where}.function.name: {name!r} is declared twice", param=f"{where}.function.name")
        names.add(name)
        if "parameters" in fn:
            _check_parameters(fn["parameters"], f"{where}.function.parameters", schemas)
    return tools


def _check_parameters(schema: Any, where: str, schemas: SchemaCache) -> None:
    if not isinstance(schema, dict):
        raise bad_request(f"{where}: must be a JSON Schema object", param=where)
    if schema.get("type", "object") != "object":
        raise bad_request(f"{where}: must describe an object (type 'object')", param=where)
    problem = _unsatisfiable(schema)
    if problem is not None:
        raise bad_request(f"{where}: {problem}", param=where, code="invalid_tool_schema")
    try:
        schemas.validator(schema)
    except InvalidSchema as exc:
        raise bad_request(f"{where}: not a valid JSON Schema: {str(exc)[:200]}", param=where,
                          code="invalid_tool_schema") from None
    except GatewayError:
        raise
    except Exception:  # a compiler's own failure on odd input is still the schema's problem
        raise bad_request(f"{where}: not a valid JSON Schema", param=where, code="invalid_tool_schema") from None


def _unsatisfiable(root: dict[str, Any]) -> str | None:
    """The first obviously empty or remote piece of a schema, as a message; None if none is seen.
    References must stay inside the schema: nothing is ever fetched for a client."""
    stack: list[tuple[Any, str]] = [(root, "$")]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        if seen > MAX_SCHEMA_NODES:
            return f"more than {MAX_SCHEMA_NODES} subschemas"
        if node is False and path == "$":
            return "the schema 'false' accepts nothing"
        if not isinstance(node, dict):
            continue
        why = _empty_here(node)
        if why is not None:
            return f"{path}: {why}"
        for key in _SUBSCHEMA_MAPS:
            sub = node.get(key)
            if isinstance(sub, dict):
                stack.extend((v, f"{path}.{key}.{k}") for k, v in sub.items())
        for key in _SUBSCHEMA_LISTS:
            sub = node.get(key)
            if isinstance(sub, list):
                stack.extend((v, f"{path}.{key}[{i}]") for i, v in enumerate(sub))
        for key in _SUBSCHEMA_ONE:
            if key in node:
                stack.append((node[key], f"{path}.{key}"))
    return None


def _empty_here(node: dict[str, Any]) -> str | None:
    for key in _REFS:
        ref = node.get(key)
        if ref is not None and (not isinstance(ref, str) or not ref.startswith("#")):
            return f"{key} must point inside the schema ('#...'): remote and file references are refused"
    for key in ("enum", "type", "anyOf", "oneOf", "allOf"):
        if node.get(key) == []:
            return f"'{key}' is empty: no value can satisfy it"
    if node.get("not") in ({}, True):
        return "'not' of everything: no value can satisfy it"
    for low, high in _RANGES:
        lo, hi = node.get(low), node.get(high)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and _number(lo) and _number(hi) \
                and (lo > hi or (lo == hi and "exclusive" in low + high)):
            return f"'{low}' {lo} is above '{high}' {hi}"
    props = node.get("properties")
    required = node.get("required")
    if isinstance(props, dict) and isinstance(required, list):
        for name in required:
            if isinstance(name, str) and props.get(name) is False:
                return f"property {name!r} is required but its schema is 'false'"
    if "const" in node and isinstance(node.get("enum"), list) and node["const"] not in node["enum"]:
        return "'const' is not among the 'enum' values"
    return None


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)

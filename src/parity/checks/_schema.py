"""JSON-Schema validation with compiled validators cached per schema.

jsonschema-rs decides (fast, compiled once per schema); the pure-Python
jsonschema explains, and only when something failed.

Schemas come from clients and datasets: untrusted. A ``$ref`` is resolved
only inside the schema itself (``#/...``, or a ``$id`` it declares) and
against the JSON-Schema meta-schemas bundled with both libraries; every
other reference (``http(s)://``, ``file://``, a relative path) is refused
without any I/O, so compiling a schema never leaves the process and never
waits. Size and depth are bounded before compiling, and a schema that does not
compile is remembered (bounded), so a client repeating it costs one dict
lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
from jsonschema_specifications import REGISTRY as _META_SCHEMAS
from referencing import Registry
from referencing.exceptions import NoSuchResource

DRAFTS: dict[str, tuple[Any, type[Any]]] = {
    "draft4": (jsonschema_rs.Draft4Validator, jsonschema.Draft4Validator),
    "draft6": (jsonschema_rs.Draft6Validator, jsonschema.Draft6Validator),
    "draft7": (jsonschema_rs.Draft7Validator, jsonschema.Draft7Validator),
    "draft2019-09": (jsonschema_rs.Draft201909Validator, jsonschema.Draft201909Validator),
    "draft2020-12": (jsonschema_rs.Draft202012Validator, jsonschema.Draft202012Validator),
}
MAX_SCHEMA_BYTES = 256 * 1024
MAX_SCHEMA_DEPTH = 64
_TOO_DEEP = f"schema nested deeper than {MAX_SCHEMA_DEPTH} levels"


class InvalidSchema(ValueError):
    """The tool's own parameter schema does not compile (or refers outside itself)."""


def _refuse_rs(uri: str) -> Any:
    raise ValueError(f"external $ref {uri!r} refused: only references inside the schema are resolved")


def _refuse_py(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs class: mypy sees no __init__


# For the pure-Python jsonschema: the meta-schemas it ships, and nothing retrieved.
LOCAL_REGISTRY: Registry[Any] = _META_SCHEMAS.combine(Registry(retrieve=_refuse_py))  # type: ignore[call-arg]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counted without recursion; stops past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _canonical(schema: Any) -> bytes:
    """The schema's canonical JSON, refused if too deep or too large to compile cheaply."""
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:  # orjson refuses past 255 levels, or a non-JSON value
        if "recursion" in str(exc).lower():
            raise InvalidSchema(_TOO_DEEP) from None
        raise InvalidSchema(f"schema is not JSON: {exc}") from None
    if len(text) > MAX_SCHEMA_BYTES:
        raise InvalidSchema(f"schema larger than {MAX_SCHEMA_BYTES} bytes")
    # Fewer brackets than the limit cannot nest deeper: the exact walk only when it might.
    if text.count(b"{") + text.count(b"[") > MAX_SCHEMA_DEPTH and _depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        raise InvalidSchema(_TOO_DEEP)
    return text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class _Failed:
    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class SchemaCache:
    """Compiled validators by schema, bounded LRU; failed compilations are cached too.

    The hot path looks schemas up by object identity (the same Case dict is
    checked on every endpoint and repeat); the entry holds the schema object
    itself so its id cannot be reused while cached. Equal schemas in other
    objects share one compiled validator (or one failure) through their
    canonical JSON.
    """

    def __init__(self, draft: str = "draft7", maxsize: int = 4096) -> None:
        if draft not in DRAFTS:
            raise ValueError(f"unknown JSON Schema draft {draft!r}; one of {', '.join(DRAFTS)}")
        self.draft = draft
        self._fast_cls, self._slow_cls = DRAFTS[draft]
        self._by_id: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._by_text: OrderedDict[bytes, Any] = OrderedDict()
        self._maxsize = maxsize

    def validator(self, schema: dict[str, Any]) -> Any:
        """The compiled validator; ``InvalidSchema`` if it does not compile (cached either way)."""
        hit = self._by_id.get(id(schema))
        if hit is not None and hit[0] is schema:
            return _unwrap(hit[1])
        compiled = self._compiled(schema)
        self._by_id[id(schema)] = (schema, compiled)
        if len(self._by_id) > self._maxsize:
            self._by_id.popitem(last=False)
        return _unwrap(compiled)

    def _compiled(self, schema: dict[str, Any]) -> Any:
        try:
            text = _canonical(schema)
        except InvalidSchema as exc:
            return _Failed(str(exc))  # not cached by text: computing the text is what failed
        compiled = self._by_text.get(text)
        if compiled is None:
            try:
                compiled = self._fast_cls(schema, retriever=_refuse_rs)
            except Exception as exc:  # jsonschema_rs raises ValidationError/ValueError variants
                compiled = _Failed(_first_line(exc))
            self._by_text[text] = compiled
            if len(self._by_text) > self._maxsize:
                self._by_text.popitem(last=False)
        return compiled

    def is_valid(self, schema: dict[str, Any], instance: Any) -> bool:
        return bool(self.validator(schema).is_valid(instance))

    def errors(self, schema: dict[str, Any], instance: Any, limit: int = 3) -> list[str]:
        """Readable messages, e.g. "$.unit: 'kelvin' is not one of ['c', 'f']".

        Python's explanation first; where Python cannot follow the schema
        (a ``pattern`` its ``re`` rejects, such as ``\\p{Lu}``), jsonschema-rs's
        own messages instead.
        """
        try:
            return self._explain(schema, instance, limit)
        except Exception:
            return self._fast_errors(schema, instance, limit)

    def _explain(self, schema: dict[str, Any], instance: Any, limit: int) -> list[str]:
        out: list[str] = []
        for err in self._slow_cls(schema, registry=LOCAL_REGISTRY).iter_errors(instance):
            out.append(f"{_path(err.absolute_path)}: {err.message}")
            if len(out) >= limit:
                break
        return out

    def _fast_errors(self, schema: dict[str, Any], instance: Any, limit: int) -> list[str]:
        out: list[str] = []
        try:
            for err in self.validator(schema).iter_errors(instance):
                out.append(f"{_path(err.instance_path)}: {_first_line(Exception(err.message))}")
                if len(out) >= limit:
                    break
        except Exception as exc:
            out.append(f"$: not explained ({_first_line(exc)})")
        return out or ["$: does not match the schema"]


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _unwrap(compiled: Any) -> Any:
    if isinstance(compiled, _Failed):
        raise InvalidSchema(compiled.message)
    return compiled

"""Untrusted schemas: no $ref leaves the schema, no I/O, bounded, failures cached."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_trap import Trap, trap_server

from parity.checks import DRAFTS, InvalidSchema, SchemaCache, check_call, tool_index
from parity.checks._schema import MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH
from parity.exchange import ToolCall

# a fetch of the trap URL hangs: fail then, rather than hang the suite
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def trap() -> Iterator[Trap]:
    with trap_server() as t:
        yield t


def _remote_schemas(url: str, file_uri: str) -> list[dict[str, Any]]:
    return [
        {"type": "object", "properties": {"a": {"$ref": f"{url}/a.json"}}},
        {"$id": f"{url}/base/", "properties": {"a": {"$ref": "other.json"}}},  # relative to a remote $id
        {"properties": {"a": {"$ref": file_uri}}},
        {"properties": {"a": {"$ref": "other.json"}}},  # a relative path: a file next to nothing
        {"$schema": f"{url}/meta.json", "type": "object"},
        {"allOf": [{"$ref": f"{url}/b.json#/definitions/x"}]},
    ]


def _compile_off_thread(cache: SchemaCache, schema: dict[str, Any]) -> BaseException | None:
    """Compile in a thread, so that a fetch would show up as a hang, not hang the test."""
    out: list[BaseException | None] = []

    def go() -> None:
        try:
            cache.is_valid(schema, {"a": 1})
            out.append(None)
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(timeout=60)  # a hang guard, not a threshold: without I/O this returns at once
    assert out, "compiling the schema blocked (it must not do any I/O)"
    return out[0]


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_no_reference_is_resolved_outside_the_schema(trap: Trap, tmp_path: Path, draft: str) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "string"}')
    secret_uri = secret.as_uri()
    cache = SchemaCache(draft)
    for schema in _remote_schemas(trap.url, secret_uri):
        err = _compile_off_thread(cache, schema)
        # $schema naming an unknown meta-schema is ignored by the fixed-draft validator: that
        # compiles; everything else is refused
        if "$schema" not in schema:
            assert isinstance(err, InvalidSchema), (schema, err)
            assert "refused" in str(err) or "not present" in str(err)
    assert trap.hits == []


def test_the_python_explanation_resolves_nothing_either(trap: Trap) -> None:
    # a schema that compiles (the remote ref is never reached) still must not be fetched when explained
    cache = SchemaCache()
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"$ref": f"{trap.url}/a.json"}}}
    with pytest.raises(InvalidSchema):
        cache.is_valid(schema, {})
    msgs = cache.errors(schema, {})
    assert msgs and trap.hits == []


def test_local_and_meta_schema_references_still_work() -> None:
    cache = SchemaCache()
    schema = {"definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s"}}}
    assert cache.is_valid(schema, {"a": "x"}) and not cache.is_valid(schema, {"a": 1})
    assert cache.errors(schema, {"a": 1}) == ["$.a: 1 is not of type 'string'"]
    meta = {"$ref": "http://json-schema.org/draft-07/schema#"}  # bundled: no fetch
    assert cache.is_valid(meta, {"type": "string"}) and not cache.is_valid(meta, {"type": 5})


def test_a_failing_schema_is_compiled_once(trap: Trap) -> None:
    cache = SchemaCache()
    calls: list[int] = []
    real = cache._fast_cls

    def counting(schema: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(schema, **kw)

    cache._fast_cls = counting
    for _ in range(50):  # new objects every time, as client requests are
        with pytest.raises(InvalidSchema):
            cache.is_valid({"properties": {"a": {"$ref": f"{trap.url}/a.json"}}}, {"a": 1})
        with pytest.raises(InvalidSchema):
            cache.is_valid({"type": 12}, 1)
    assert len(calls) == 2 and trap.hits == []


def test_the_failure_cache_is_bounded() -> None:
    cache = SchemaCache(maxsize=8)
    for i in range(100):
        with pytest.raises(InvalidSchema):
            cache.is_valid({"type": 12, "title": str(i)}, 1)
    assert len(cache._by_text) <= 8 and len(cache._by_id) <= 8


def test_size_and_depth_are_bounded() -> None:
    cache = SchemaCache()
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(MAX_SCHEMA_DEPTH):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(InvalidSchema, match="deeper"):
        cache.is_valid(deep, {})
    very_deep: dict[str, Any] = {}
    for _ in range(5000):  # past orjson's and Python's recursion limits: still a clean refusal
        very_deep = {"not": very_deep}
    with pytest.raises(InvalidSchema, match="deeper"):
        cache.is_valid(very_deep, {})
    big = {"enum": ["x" * 1000] * (MAX_SCHEMA_BYTES // 1000 + 1)}
    with pytest.raises(InvalidSchema, match="larger"):
        cache.is_valid(big, "x")


def test_a_remote_ref_in_a_tool_schema_is_the_clients_fault_not_a_fetch(trap: Trap) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"$ref": f"{trap.url}/a.json"}}}}}]
    findings = check_call(ToolCall(name="f", arguments='{"a": 1}'), tool_index(tools), SchemaCache())
    assert [f.check for f in findings] == ["tool.invalid_schema"] and trap.hits == []


# -- item 7: a pattern Rust's regex accepts and Python's re does not --------------------------

UNICODE_PATTERN = {"type": "object", "properties": {"name": {"type": "string", "pattern": r"^\p{Lu}+$"}}}


def test_a_rust_only_pattern_is_explained_without_python() -> None:
    cache = SchemaCache()
    assert cache.is_valid(UNICODE_PATTERN, {"name": "ÉCOLE"})
    assert not cache.is_valid(UNICODE_PATTERN, {"name": "école"})
    msgs = cache.errors(UNICODE_PATTERN, {"name": "école"})
    assert len(msgs) == 1 and msgs[0].startswith("$.name: ") and "école" in msgs[0]


def test_a_rust_only_pattern_is_a_finding_not_a_crash() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": UNICODE_PATTERN}}]
    findings = check_call(ToolCall(name="f", arguments='{"name": "lower"}'), tool_index(tools), SchemaCache())
    assert [f.check for f in findings] == ["tool_call.schema_mismatch"]
    assert "$.name" in findings[0].message

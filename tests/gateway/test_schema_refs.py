"""A client's tool schema is untrusted: its $ref never makes the gateway fetch anything,
and a pattern only Rust's regex understands is a finding, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers_trap import Trap, trap_server

from parity.fake import Answer, Call, FakeEndpoint

# a fetch of the trap URL hangs: fail then, rather than hang the suite
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def trap() -> Iterator[Trap]:
    with trap_server() as t:
        yield t


def _tools(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": "f", "parameters": parameters}}]


async def test_a_remote_ref_is_never_fetched(harness: Any, trap: Trap) -> None:
    h = harness({"a": FakeEndpoint(lambda b: Answer(content=None, calls=(Call("f", '{"x": 1}'),)))})
    for url in (f"{trap.url}/x.json", "file:///etc/passwd"):
        tools = _tools({"type": "object", "properties": {"x": {"$ref": url}}})
        r = await h.chat(tools=tools)
        # refused at the door (a tool schema may only point inside itself), never fetched
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_tool_schema"
    assert trap.hits == []


async def test_a_rust_only_pattern_is_not_a_500(harness: Any) -> None:
    h = harness({"a": FakeEndpoint(lambda b: Answer(content=None, calls=(Call("f", '{"x": "lower"}'),)))})
    tools = _tools({"type": "object", "properties": {"x": {"type": "string", "pattern": r"^\p{Lu}+$"}}})
    for _ in range(3):
        r = await h.chat(tools=tools)
        assert r.status_code < 500 or r.status_code in (502, 503), r.text
        assert "Traceback" not in r.text

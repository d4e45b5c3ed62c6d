"""The door and attribution: one client cannot eject healthy endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parity.fake import Answer, Call, FakeEndpoint, HttpError, default_script

from .conftest import TOOLS, make_config


def _tool(parameters: Any, name: str = "f", **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "parameters": parameters}, **extra}]


REJECTED = [
    _tool({"enum": []}),
    _tool({"type": "object", "properties": {"x": {"enum": []}}, "required": ["x"]}),
    _tool({"type": "object", "properties": {"x": {"type": []}}}),
    _tool({"type": "object", "properties": {"x": {"type": "string", "minLength": 5, "maxLength": 2}}}),
    _tool({"type": "object", "properties": {"x": {"type": "integer", "minimum": 3, "maximum": 1}}}),
    _tool({"type": "object", "properties": {"x": {"not": {}}}}),
    _tool({"type": "object", "properties": {"x": False}, "required": ["x"]}),
    _tool({"type": "object", "properties": {"x": {"const": 1, "enum": [2]}}}),
    _tool({"type": "object", "properties": {"x": {"$ref": "http://127.0.0.1:9/schema.json"}}}),
    _tool({"type": "object", "properties": {"x": {"$ref": "file:///etc/passwd"}}}),
    _tool({"type": "object", "properties": {"x": {"type": "no-such-type"}}}),
    _tool({"type": "object", "properties": {"x": {"pattern": "("}}}),
    _tool({"type": "object", "properties": {"x": {"minLength": -1}}}),
    _tool({"type": "string"}),
    _tool([1, 2]),
    _tool({}, name=""),
    _tool({}, name="has space"),
    _tool({}, name="x" * 65),
    _tool({}, name=None),  # type: ignore[arg-type]
    [{"type": "function"}],
    [{"type": "function", "function": "f"}],
    [{"type": "retrieval", "function": {"name": "f"}}],
    [{"function": {"name": "f"}}],
    ["f"],
    [None],
    _tool({}) + _tool({}),  # the same name twice
    {"type": "function"},  # not an array
    "tools",
]


@pytest.mark.parametrize("tools", REJECTED, ids=range(len(REJECTED)))
async def test_malformed_or_unsatisfiable_tools_are_a_400_before_any_upstream(harness: Any, tools: Any) -> None:
    h = harness({"a": FakeEndpoint()})
    r = await h.chat(tools=tools)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"].startswith("tools")
    assert h.fakes["a"].requests == []


async def test_well_formed_tools_pass(harness: Any) -> None:
    h = harness({"a": FakeEndpoint()})
    tools = TOOLS + _tool({"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}},
                           "$defs": {"n": {"type": "integer", "minimum": 1, "maximum": 1}}}, name="g.h:i-j")
    assert (await h.chat(tools=tools)).status_code == 200
    assert (await h.chat(tools=_tool({"type": "object"}) + _tool({}, name="nop"))).status_code == 200


def _crashes_on_poison(body: dict[str, Any]) -> Any:
    """A healthy provider whose tool parser crashes on one (valid-looking) tool name."""
    if any(t["function"]["name"] == "poison" for t in body.get("tools") or []):
        return HttpError(500, "internal error in tool parser")
    return default_script(body)


def _client(h: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(h.app, client=(address, 4000)), base_url="http://gw")


async def _ask(c: httpx.AsyncClient, tools: Any) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    return await c.post("/v1/chat/completions", json=body)


async def test_one_hostile_client_cannot_eject_healthy_endpoints(harness: Any) -> None:
    fakes = {"a": FakeEndpoint(_crashes_on_poison), "b": FakeEndpoint(_crashes_on_poison)}
    h = harness(fakes, make_config(["a", "b"], ejection={"min_failures": 2}))
    hostile, innocent = _client(h, "10.0.0.66"), _client(h, "10.0.0.1")
    unsatisfiable = _tool({"type": "object", "properties": {"x": {"type": "string", "pattern": "^$", "minLength": 1}},
                           "required": ["x"]})
    try:
        for _ in range(30):
            assert (await _ask(hostile, _tool({"type": "object"}, name="poison"))).status_code == 503
            assert (await _ask(hostile, unsatisfiable)).status_code == 502  # both answered; no call can be valid
            assert (await _ask(hostile, _tool({"enum": []}))).status_code == 400
        assert h.gw.ejector.admitted() == {"a": True, "b": True}
        assert h.metric("parity_gateway_ejections_total", endpoint="a", signal="error_rate") == 0
        assert h.metric("parity_gateway_unattributed_failures_total", endpoint="a", outcome="http_error") == 30
        r = await _ask(innocent, TOOLS)
        assert r.status_code == 200
    finally:
        await hostile.aclose()
        await innocent.aclose()


async def test_failures_count_once_another_endpoint_served_the_same_request(harness: Any) -> None:
    bad = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("get_weather", "{x"),)))
    cfg = make_config(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}})
    h = harness({"bad": bad, "ok": FakeEndpoint()}, cfg)
    one = _client(h, "10.0.0.66")
    try:
        for _ in range(3):  # one client is enough when the evidence is a better endpoint
            assert (await _ask(one, TOOLS)).status_code == 200
        assert not h.gw.ejector.admitted()["bad"]
    finally:
        await one.aclose()


async def test_failures_no_endpoint_avoided_count_once_enough_clients_saw_them(harness: Any) -> None:
    down = FakeEndpoint(lambda b: HttpError(500, "down"))
    h = harness({"a": down}, make_config(["a"], ejection={"min_failures": 2, "min_distinct_clients": 3}))
    clients = [_client(h, f"10.0.1.{i}") for i in range(3)]
    try:
        for _ in range(10):
            assert (await _ask(clients[0], TOOLS)).status_code == 503
        assert h.gw.ejector.admitted()["a"]  # ten failures, one client: one piece of evidence at most
        for c in clients[1:]:
            assert (await _ask(c, TOOLS)).status_code == 503
        assert h.gw.stats["a"].errors.k == 3  # three clients, three failures counted
        for c in clients:
            await _ask(c, TOOLS)
        assert not h.gw.ejector.admitted()["a"]
    finally:
        for c in clients:
            await c.aclose()


async def test_deeply_nested_body_is_a_400(harness: Any) -> None:
    h = harness({"a": FakeEndpoint()})
    for depth in (65, 300, 1000):
        raw = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": '
        raw += b"[" * depth + b'"x"' + b"]" * depth + b"}"
        r = await h.client.post("/v1/chat/completions", content=raw)
        assert r.status_code == 400 and r.json()["error"]["code"] == "too_deep"
    assert h.fakes["a"].requests == []
    assert (await h.chat(metadata=[[[["fine"]]]])).status_code == 200

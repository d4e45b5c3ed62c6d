"""The fault proxy against a scripted in-process upstream: each mode shows, rate 0 never
does, and the same request always meets the same fate."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest

from parity.testbed.faults import FAULT_HEADER, FaultMode
from parity.testbed.faults._stream import parse_sse, reassemble

ProxyFactory = Callable[..., httpx.AsyncClient]  # make_proxy(*(mode, rate), **config) -> client

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def chat(content: str, *, tools: bool = True, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "smollm2", "messages": [{"role": "user", "content": content}]}
    if tools:
        body["tools"] = [WEATHER_TOOL]
    if stream:
        body["stream"] = True
    return {**body, **extra}


async def post(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The completion (reassembled when streamed) and the fault the proxy names."""
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    data = reassemble(parse_sse(response.text)) if body.get("stream") else response.json()
    return data, response.headers.get(FAULT_HEADER)


def only_call(data: dict[str, Any]) -> dict[str, Any]:
    calls = data["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1
    function: dict[str, Any] = calls[0]["function"]
    return function


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


WEATHER = "What is the weather in Paris?"
CHITCHAT = "Say something nice."


@pytest.mark.parametrize("prompt", [WEATHER, CHITCHAT], ids=["upstream-call", "synthesised"])
async def test_invalid_json(make_proxy: ProxyFactory, prompt: str) -> None:
    data, fault = await post(make_proxy((FaultMode.INVALID_JSON, 1.0)), chat(prompt))
    assert fault == "invalid_json"
    assert not parses(only_call(data)["arguments"])
    assert data["choices"][0]["finish_reason"] == "tool_calls"


async def test_unknown_name(make_proxy: ProxyFactory) -> None:
    data, fault = await post(make_proxy((FaultMode.UNKNOWN_NAME, 1.0)), chat(WEATHER))
    assert fault == "unknown_name"
    function = only_call(data)
    assert function["name"] != "get_weather"
    assert json.loads(function["arguments"]) == {"city": "Paris", "days": 2}


@pytest.mark.parametrize("prompt", [WEATHER, CHITCHAT], ids=["upstream-call", "synthesised"])
async def test_schema_mismatch(make_proxy: ProxyFactory, prompt: str) -> None:
    data, fault = await post(make_proxy((FaultMode.SCHEMA_MISMATCH, 1.0)), chat(prompt))
    assert fault == "schema_mismatch"
    function = only_call(data)
    assert function["name"] == "get_weather"
    validator = jsonschema.Draft7Validator(WEATHER_TOOL["function"]["parameters"])
    assert not validator.is_valid(json.loads(function["arguments"]))


async def test_markup_leak(make_proxy: ProxyFactory) -> None:
    data, fault = await post(make_proxy((FaultMode.MARKUP_LEAK, 1.0)), chat(WEATHER))
    assert fault == "markup_leak"
    choice = data["choices"][0]
    assert not choice["message"].get("tool_calls")
    assert choice["finish_reason"] == "stop"
    leaked = re.search(r"<tool_call>\s*(.*?)\s*</tool_call>", choice["message"]["content"], re.S)
    assert leaked is not None
    assert json.loads(leaked.group(1))["name"] == "get_weather"


@pytest.mark.parametrize("mode", [FaultMode.STREAM_LOST_DELTA, FaultMode.STREAM_DUPLICATE_DELTA])
@pytest.mark.parametrize("prompt", [WEATHER, CHITCHAT], ids=["upstream-call", "synthesised"])
async def test_stream_deltas(make_proxy: ProxyFactory, mode: FaultMode, prompt: str) -> None:
    proxy = make_proxy((mode, 1.0))
    data, fault = await post(proxy, chat(prompt, stream=True))
    assert fault == mode.value
    arguments = only_call(data)["arguments"]
    if prompt == WEATHER:
        assert arguments != json.dumps({"city": "Paris", "days": 2})
    assert not parses(arguments) or not jsonschema.Draft7Validator(
        WEATHER_TOOL["function"]["parameters"]
    ).is_valid(json.loads(arguments))


async def test_stream_modes_leave_unstreamed_requests_alone(make_proxy: ProxyFactory) -> None:
    data, fault = await post(make_proxy((FaultMode.STREAM_LOST_DELTA, 1.0)), chat(WEATHER))
    assert fault is None
    assert json.loads(only_call(data)["arguments"]) == {"city": "Paris", "days": 2}


async def test_streamed_answer_fault(make_proxy: ProxyFactory) -> None:
    data, fault = await post(make_proxy((FaultMode.INVALID_JSON, 1.0)), chat(WEATHER, stream=True))
    assert fault == "invalid_json"
    assert not parses(only_call(data)["arguments"])
    assert data["usage"]["completion_tokens"] == 7


async def test_sampling_override(make_proxy: ProxyFactory, upstream: Any) -> None:
    body = chat(CHITCHAT, temperature=0.0, top_p=1.0, presence_penalty=0.5)
    _, fault = await post(make_proxy((FaultMode.SAMPLING_OVERRIDE, 1.0)), body)
    assert fault == "sampling_override"
    sent = upstream.bodies[-1]
    assert (sent["temperature"], sent["top_p"], sent["presence_penalty"]) == (0.8, 0.95, 0.0)
    assert sent["messages"] == body["messages"]


async def test_context_truncation(make_proxy: ProxyFactory, upstream: Any) -> None:
    needle = "The secret word is MARMALADE. " + "Filler sentence about nothing. " * 200
    body = chat("What was the secret word?", tools=False)
    body["messages"] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": needle},
        {"role": "assistant", "content": "Noted."},
        body["messages"][0],
    ]
    plain = make_proxy()
    truncating = make_proxy((FaultMode.CONTEXT_TRUNCATION, 1.0), context_budget_chars=1000)
    full, _ = await post(plain, body)
    cut, fault = await post(truncating, body)
    assert fault == "context_truncation"
    sent = upstream.bodies[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[-1] == body["messages"][-1]
    assert "MARMALADE" not in json.dumps(sent)
    assert sum(len(m["content"]) for m in sent) <= 1000
    assert cut["usage"]["prompt_tokens"] < full["usage"]["prompt_tokens"]


async def test_context_truncation_spares_short_prompts(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy((FaultMode.CONTEXT_TRUNCATION, 1.0), context_budget_chars=1000)
    _, fault = await post(proxy, chat(CHITCHAT))
    assert fault is None


@pytest.mark.parametrize("prompt", [WEATHER, CHITCHAT], ids=["in-arguments", "in-content"])
async def test_foreign_script(make_proxy: ProxyFactory, prompt: str) -> None:
    data, fault = await post(make_proxy((FaultMode.FOREIGN_SCRIPT, 1.0)), chat(prompt))
    assert fault == "foreign_script"
    assert re.search(
        r"[\u0e00-\u0e7f\u4e00-\u9fff\uac00-\ud7af]", json.dumps(data, ensure_ascii=False)
    )
    if prompt == WEATHER:
        assert parses(only_call(data)["arguments"])


async def test_tool_faults_need_tools(make_proxy: ProxyFactory) -> None:
    data, fault = await post(make_proxy((FaultMode.INVALID_JSON, 1.0)), chat(CHITCHAT, tools=False))
    assert fault is None
    assert data["choices"][0]["message"]["content"] == "It is a fine day to learn."


async def test_rate_zero_never_faults(
    make_proxy: ProxyFactory, upstream_client: httpx.AsyncClient
) -> None:
    proxy = make_proxy(*[(m, 0.0) for m in FaultMode])
    for i in range(40):
        body = chat(f"{WEATHER} ({i})", stream=i % 2 == 1)
        response = await proxy.post("/v1/chat/completions", json=body)
        direct = await upstream_client.post("http://upstream/v1/chat/completions", json=body)
        assert FAULT_HEADER not in response.headers
        assert response.content == direct.content


async def test_same_request_same_fate(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy((FaultMode.INVALID_JSON, 0.25), (FaultMode.UNKNOWN_NAME, 0.25))
    fates = []
    for i in range(200):
        body = chat(f"{WEATHER} ({i})")
        first = await proxy.post("/v1/chat/completions", json=body)
        again = await proxy.post("/v1/chat/completions", json=dict(reversed(body.items())))
        assert first.headers.get(FAULT_HEADER) == again.headers.get(FAULT_HEADER)
        assert first.content == again.content
        fates.append(first.headers.get(FAULT_HEADER))
    # 200 draws at 0.25 each: outside 25..75 is a < 1e-4 event.
    assert 25 <= fates.count("invalid_json") <= 75
    assert 25 <= fates.count("unknown_name") <= 75


async def test_seed_changes_the_draw(make_proxy: ProxyFactory) -> None:
    bodies = [chat(f"{WEATHER} ({i})") for i in range(64)]
    fates = []
    for seed in (0, 1):
        proxy = make_proxy((FaultMode.INVALID_JSON, 0.5), seed=seed)
        fates.append(
            [
                (await proxy.post("/v1/chat/completions", json=b)).headers.get(FAULT_HEADER)
                for b in bodies
            ]
        )
    assert fates[0] != fates[1]


async def test_other_routes_and_health(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy((FaultMode.INVALID_JSON, 1.0))
    models = await proxy.get("/v1/models")
    assert models.json()["data"][0]["id"] == "smollm2"
    health = await proxy.get("/health")
    assert health.json()["faults"] == [{"mode": "invalid_json", "rate": 1.0}]


async def test_upstream_errors_pass_through(make_proxy: ProxyFactory) -> None:
    response = await make_proxy((FaultMode.INVALID_JSON, 1.0)).post("/v1/nothing-here", json={})
    assert response.status_code == 404

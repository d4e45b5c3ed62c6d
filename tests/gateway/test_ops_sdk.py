"""The OpenAI SDK against the gateway: models.retrieve, responses.create (streamed and not,
with a tool), completions, and an OpenRouter-style ``provider`` body."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest

from parity.fake import Answer, Call, FakeEndpoint, HttpError, serve
from parity.gateway import GatewayConfig, create_app

from .conftest import make_config
from .test_sdk import sdk, served_gateway

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_models_retrieve() -> None:
    with served_gateway({"a": FakeEndpoint()}) as (url, _):
        client = sdk(url)
        assert client.models.retrieve("m").id == "m"
        assert client.models.retrieve("m:verified").id == "m:verified"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("nope")


def test_responses_with_a_tool_streamed_and_not() -> None:
    fake = FakeEndpoint()
    with served_gateway({"a": fake}) as (url, _):
        client = sdk(url)
        raw = client.responses.with_raw_response.create(model="m", input="Weather in Paris?",
                                                        tools=[WEATHER])  # type: ignore[list-item]
        out = raw.parse()
        assert raw.headers["x-parity-endpoint"] == "a" and raw.headers["x-parity-attempts"] == "1"
        (call,) = [o for o in out.output if o.type == "function_call"]
        assert call.name == "get_weather" and call.arguments == '{"city":"example"}'
        assert out.usage is not None and out.usage.output_tokens > 0
        events = list(client.responses.create(model="m", input="Weather?", tools=[WEATHER],  # type: ignore[list-item]
                                              stream=True))
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert "response.function_call_arguments.delta" in kinds
        done = events[-1].response  # type: ignore[union-attr]
        assert [o.name for o in done.output if o.type == "function_call"] == ["get_weather"]
        text = client.responses.create(model="m", input="hi")
        assert text.output_text == "Hello from the fake endpoint."
    assert [r["model"] for r in fake.requests] == ["m-a"] * 3  # the endpoint's own model id


def test_responses_invalid_tool_call_falls_back() -> None:
    bad = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("get_weather", '{"city": 1}'),)))
    with served_gateway({"bad": bad, "good": FakeEndpoint()}, policy="price",
                        prices={"bad": 0.1, "good": 1.0}) as (url, gw):
        for stream in (False, True):
            raw = sdk(url).responses.with_raw_response.create(
                model="m", input="Weather?", tools=[WEATHER], stream=stream)  # type: ignore[list-item]
            assert raw.headers["x-parity-endpoint"] == "good" and raw.headers["x-parity-attempts"] == "2"
        assert gw.metrics.registry.get_sample_value(
            "parity_gateway_upstream_attempts_total", {"endpoint": "bad", "outcome": "tool_call_invalid"}) == 2


def test_completions_streamed_and_not_and_unsupported_upstream_falls_back() -> None:
    class ChatOnly(FakeEndpoint):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].endswith("/v1/completions"):
                scope = {**scope, "path": "/v1/nothing"}  # answers 404 like a chat-only server
            await super().__call__(scope, receive, send)

    with served_gateway({"old": ChatOnly(), "new": FakeEndpoint()}, policy="price",
                        prices={"old": 0.1, "new": 1.0}) as (url, _):
        client = sdk(url)
        out = client.completions.with_raw_response.create(model="m", prompt="Say hi")
        assert out.headers["x-parity-endpoint"] == "new"
        assert out.parse().choices[0].text == "Hello from the fake endpoint."
        chunks = list(client.completions.create(model="m", prompt="Say hi", stream=True))
        assert "".join(c.choices[0].text for c in chunks) == "Hello from the fake endpoint."
        assert chunks[-1].choices[0].finish_reason == "stop"


def _served_by(url: str, provider: dict[str, Any]) -> str:
    raw = sdk(url).chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"provider": provider})
    return str(raw.headers["x-parity-endpoint"])


def test_openrouter_provider_body_routes_and_is_not_forwarded() -> None:
    fakes = {"a": FakeEndpoint(), "b": FakeEndpoint(), "c": FakeEndpoint(lambda b: HttpError(503, "down"))}
    with served_gateway(fakes, policy="price", prices={"a": 0.1, "b": 1.0, "c": 0.05}) as (url, _):
        assert _served_by(url, {"order": ["b", "a"]}) == "b"
        assert _served_by(url, {"only": ["B"]}) == "b"  # names match case-insensitively
        assert _served_by(url, {"ignore": ["c"]}) == "a"
        assert _served_by(url, {"max_price": {"prompt": 0.5, "completion": 0.5}, "ignore": ["c"]}) == "a"
        assert _served_by(url, {"sort": "price", "data_collection": "deny"}) == "a"  # c failed, then a
        with pytest.raises(openai.APIStatusError) as down:
            _served_by(url, {"order": ["c"], "allow_fallbacks": False})
        assert down.value.status_code == 503
        with pytest.raises(openai.BadRequestError):
            _served_by(url, {"order": "a"})
        with pytest.raises(openai.BadRequestError):
            _served_by(url, {"no_such_field": 1})
        raw = sdk(url).responses.with_raw_response.create(model="m", input="hi",
                                                          extra_body={"provider": {"only": ["b"]}})
        assert raw.headers["x-parity-endpoint"] == "b"
    assert all("provider" not in r for f in fakes.values() for r in f.requests)


def test_provider_quantizations_use_declared_metadata() -> None:
    fakes = {"q4": FakeEndpoint(), "q8": FakeEndpoint()}
    with ExitStack() as stack:
        urls = {n: stack.enter_context(serve(f)) + "/v1" for n, f in fakes.items()}
        cfg = make_config(list(fakes), urls=urls, alias={"policy": "price", "prices": {"q4": 0.1, "q8": 1.0}})
        raw = cfg.model_dump()
        for e in raw["endpoints"]:
            e["declared"] = {"quantization": {"q4": "Q4_K_M", "q8": "Q8_0"}[e["name"]]}
        app = create_app(GatewayConfig.model_validate(raw))
        url = stack.enter_context(serve(app)) + "/v1"
        assert _served_by(url, {"quantizations": ["q8_0"]}) == "q8"
        assert _served_by(url, {}) == "q4"


@pytest.mark.parametrize("garbage", [b"data: [1, 2]\n\ndata: [DONE]\n\n",
                                     b"data: {\"choices\": [7]}\n\ndata: [DONE]\n\n",
                                     b"data: not json\n\n",
                                     b"event: x\ndata: {\"type\": \"response.completed\"}\n\n"])
async def test_broken_streams_of_other_apis_fall_back(harness: Any, garbage: bytes) -> None:
    from parity.fake import Garbage

    from .conftest import make_config as cfg_for

    h = harness({"bad": FakeEndpoint(lambda b: Garbage(garbage, "text/event-stream")), "ok": FakeEndpoint()},
                cfg_for(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}}))
    for path, body in (("/v1/completions", {"prompt": "hi"}), ("/v1/responses", {"input": "hi"})):
        r = await h.client.post(path, json={"model": "m", "stream": True, **body})
        assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok", r.text


def test_responses_stream_commits_on_text_and_holds_invalid_calls() -> None:
    mixed = FakeEndpoint(lambda b: Answer(content="Let me check.", calls=(Call("get_weather", '{"city": 1}'),),
                                          chunk_delay_s=0.005))  # events in separate reads
    with served_gateway({"mixed": mixed, "ok": FakeEndpoint()}, policy="price",
                        prices={"mixed": 0.1, "ok": 1.0}) as (url, gw):
        with httpx.stream("POST", f"{url}/responses", timeout=10, json={
                "model": "m", "input": "Weather?", "stream": True, "tools": [WEATHER]}) as r:
            assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "mixed"  # committed on text
            lines = [line for line in r.iter_lines() if line.startswith("data: ")]
        assert gw.metrics.registry.get_sample_value(
            "parity_gateway_requests_total", {"model": "m", "outcome": "stream_tool_call_invalid"}) == 1
    events = [json.loads(line[6:]) for line in lines]
    kinds = [e["type"] for e in events]
    assert "response.output_text.delta" in kinds
    assert not any(k.startswith("response.function_call") for k in kinds)  # the invalid call never reached it
    assert kinds[-1] == "error" and events[-1]["code"] == "tool_call_invalid"

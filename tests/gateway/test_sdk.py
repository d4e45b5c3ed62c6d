"""The OpenAI Python SDK as the client, against the gateway on 127.0.0.1 in front of served fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import openai
import pytest

from parity.fake import Answer, Call, FakeEndpoint, serve
from parity.gateway import create_app

from .conftest import TOOLS, make_config


@contextmanager
def served_gateway(fakes: dict[str, FakeEndpoint], **alias: Any) -> Iterator[tuple[str, Any]]:
    with ExitStack() as stack:
        urls = {n: stack.enter_context(serve(f)) + "/v1" for n, f in fakes.items()}
        app = create_app(make_config(list(fakes), urls=urls, alias=alias))
        gw = app.state.gateway
        url = stack.enter_context(serve(app))
        try:
            yield url + "/v1", gw
        finally:
            stack.close()
            asyncio.run(_close_quietly(gw))


async def _close_quietly(gw: Any) -> None:
    # the serving loop is gone; only the client's bookkeeping is left to release
    try:
        await gw.aclose()
    except RuntimeError:
        pass


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=10)


def test_sdk_plain_and_models() -> None:
    with served_gateway({"a": FakeEndpoint(), "b": FakeEndpoint()}) as (url, _gw):
        client = sdk(url)
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
        out = raw.parse()
        assert out.choices[0].message.content == "Hello from the fake endpoint."
        assert raw.headers["x-parity-endpoint"] in {"a", "b"}
        assert raw.headers["x-parity-verdict"] == "none"
        assert {m.id for m in client.models.list()} == {"m", "m:verified"}


def test_sdk_tools_non_streaming() -> None:
    with served_gateway({"a": FakeEndpoint()}) as (url, _):
        out = sdk(url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS)  # type: ignore[arg-type]
        call = out.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert out.choices[0].finish_reason == "tool_calls"


def test_sdk_streaming_text() -> None:
    with served_gateway({"a": FakeEndpoint()}) as (url, _):
        stream = sdk(url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "Hello from the fake endpoint."


def test_sdk_streaming_tools_reassemble_and_invalid_call_is_retried() -> None:
    bad = FakeEndpoint(lambda body: Answer(content=None, calls=(Call("get_weather", '{"city": 1}'),)))
    with served_gateway({"bad": bad, "good": FakeEndpoint()}, policy="price",
                        prices={"bad": 0.1, "good": 1.0}) as (url, gw):
        stream = sdk(url).chat.completions.with_streaming_response.create(
            model="m", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS,  # type: ignore[arg-type]
            stream=True)
        with stream as resp:
            assert resp.headers["x-parity-endpoint"] == "good"
            args, names = [], []
            for chunk in resp.parse():
                for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                    names.append(tc.function.name) if tc.function and tc.function.name else None
                    args.append(tc.function.arguments or "" if tc.function else "")
        assert names == ["get_weather"] and "".join(args) == '{"city":"example"}'
        assert len(bad.requests) == 1  # tried first (cheapest), refused before the client saw it
        reg = gw.metrics.registry
        assert reg.get_sample_value("parity_gateway_upstream_attempts_total",
                                    {"endpoint": "bad", "outcome": "tool_call_invalid"}) == 1


def test_sdk_sees_openai_style_errors() -> None:
    with served_gateway({"a": FakeEndpoint()}) as (url, _):
        client = sdk(url)
        with pytest.raises(openai.NotFoundError) as nf:
            client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
        assert nf.value.code == "model_not_found"
        with pytest.raises(openai.BadRequestError) as br:
            client.chat.completions.create(model="m", messages=[])
        assert br.value.param == "messages"
        r = httpx.get(url.removesuffix("/v1") + "/healthz")
        assert r.json()["endpoints"] == {"a": "admitted"}

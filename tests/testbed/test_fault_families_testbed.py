"""Family leaks on the real testbed: the fault proxy in front of the reference (llama.cpp
serving SmolLM2-135M) leaks each family's call syntax, rendered with its official template;
each leak is caught under the family's name, the gateway retries it on the replica (or repairs
it when the alias asks, whole or streamed), and the replica's own answers stay clean.

SmolLM2-135M almost never calls a tool and has no reasoning: the calls leaked here are the
proxy's (synthesised from the request's tools when the model made none), not the model's.

Every family's leak is made from the same greedy request, which the proxies' upstream (one slot,
no prompt cache: the same bytes each time) answers once per body; the proxies get that answer
replayed (``_Replay``), so the test costs the model a handful of answers, not one per family
and attempt. The replica, which the gateway retries on, answers every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from parity.checks import check_markup, check_reasoning_delimiters
from parity.checks.text import check_special_tokens
from parity.config import ParityConfig
from parity.exchange import Completion
from parity.families import FAMILIES
from parity.gateway import create_app as gateway_app
from parity.gateway import parse_gateway_config
from parity.testbed.faults import FaultConfig, FaultMode, FaultSpec, create_app

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

TEMPLATES = Path(__file__).parents[1] / "families" / "templates"
RENDERED = [f.name for f in FAMILIES if f.templates]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _body(model: str, stream: bool = False) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [WEATHER], "temperature": 0, "max_tokens": 16, "stream": stream}


class _Replay(httpx.AsyncBaseTransport):
    """The upstream's answer to a request body it has answered before, replayed (its model
    field aside): a greedy answer of a one-slot server without prompt cache, computed once."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.answers: dict[tuple[str, bytes], tuple[int, list[tuple[str, str]], bytes]] = {}
        self.computed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        body.pop("model", None)
        key = (request.url.path, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        if key not in self.answers:
            r = await self.inner.handle_async_request(request)
            content = await r.aread()
            await r.aclose()
            self.computed += 1
            kept = [(k, v) for k, v in r.headers.multi_items()
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")]
            self.answers[key] = (r.status_code, kept, content)
        status, headers, content = self.answers[key]
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _gateway(cfg: ParityConfig, proxy: Any, repair: bool) -> Any:
    replica = cfg.endpoint("replica")
    raw = {
        "endpoints": [
            {"name": "leaky", "base_url": "http://leaky.invalid/v1", "model": cfg.reference.model},
            {"name": "replica", "base_url": replica.base_url, "model": replica.model, "timeout_s": 300},
        ],
        "models": [{"alias": "m", "endpoints": ["leaky", "replica"], "policy": "price",
                    "prices": {"leaky": 0, "replica": 1}, "sticky": False, "repair_tool_calls": repair}],
    }
    return gateway_app(parse_gateway_config(raw), transports={"leaky": httpx.ASGITransport(proxy)})


def _streamed_content(text: str) -> str:
    import orjson

    return "".join((c["delta"].get("content") or "") for line in text.splitlines()
                   if line.startswith("data: {") for c in orjson.loads(line[6:]).get("choices", []))


async def _through_gateway(gw: httpx.AsyncClient, name: str, repair: bool) -> None:
    r = await gw.post("/v1/chat/completions", json=_body("m"))
    assert r.status_code == 200, (name, r.text)
    if repair:
        assert r.headers["x-parity-endpoint"] == "leaky" and r.headers["x-parity-repaired"] == name
        (call,) = r.json()["choices"][0]["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
    else:
        assert r.headers["x-parity-endpoint"] == "replica" and r.headers["x-parity-attempts"] == "2", name
        clean = Completion(content=r.json()["choices"][0]["message"].get("content"))
        assert check_markup(clean, {"get_weather"}) == []  # the replica stays clean
        assert check_reasoning_delimiters(clean) == []
    s = await gw.post("/v1/chat/completions", json=_body("m", stream=True))
    assert s.status_code == 200, (name, s.text)
    # streamed: retried on the replica, or repaired into tool_calls deltas (noted before [DONE])
    assert s.headers["x-parity-endpoint"] == ("leaky" if repair else "replica"), name
    assert check_markup(Completion(content=_streamed_content(s.text)), {"get_weather"}) == []
    if repair:
        assert f": x-parity-repaired: {name}" in s.text.splitlines(), name
        assert '"name":"get_weather"' in s.text and '"finish_reason":"tool_calls"' in s.text


async def test_each_family_leak_is_caught_retried_or_repaired(testbed_config: ParityConfig,
                                                              fault_upstream: Any) -> None:
    upstream = fault_upstream.base_url.removesuffix("/v1")  # the proxies' own, not the reference
    replay = _Replay()
    async with httpx.AsyncClient(transport=replay, timeout=httpx.Timeout(300.0, connect=10.0)) as http:
        for name in RENDERED:
            proxy = create_app(FaultConfig(upstream=upstream, faults=[FaultSpec(mode=FaultMode.MARKUP_LEAK, rate=1.0)],
                                           annotate=True, leak_families=[name], templates_dir=str(TEMPLATES)),
                               client=http)
            direct = httpx.AsyncClient(transport=httpx.ASGITransport(proxy), base_url="http://leaky")
            leaked = (await direct.post("/v1/chat/completions", json=_body("x"))).json()
            (finding,) = check_markup(Completion(content=leaked["choices"][0]["message"]["content"]),
                                      {"get_weather"})
            assert finding.detail["family"] == name  # caught by name
            for repair in (False, True):
                app = _gateway(testbed_config, proxy, repair)
                gw = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw")
                try:
                    await _through_gateway(gw, name, repair)
                finally:
                    await gw.aclose()
                    await app.state.gateway.aclose()
            await direct.aclose()
    assert replay.computed == 2  # the greedy request, whole and streamed: answered once each


async def test_reasoning_leaks_are_caught_and_the_replica_has_none(testbed_config: ParityConfig,
                                                                   fault_upstream: Any) -> None:
    upstream = fault_upstream.base_url.removesuffix("/v1")
    names = [f.name for f in FAMILIES if any(closer for _, closer in f.reasoning)]
    async with httpx.AsyncClient(transport=_Replay(), timeout=httpx.Timeout(300.0, connect=10.0)) as http:
        for name in names:
            proxy = create_app(FaultConfig(upstream=upstream, faults=[FaultSpec(mode=FaultMode.REASONING_LEAK,
                                                                                   rate=1.0)],
                                           annotate=True, leak_families=[name]), client=http)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(proxy), base_url="http://leaky") as direct:
                r = await direct.post("/v1/chat/completions", json={**_body("x"), "tools": None})
            (finding,) = check_reasoning_delimiters(Completion(content=r.json()["choices"][0]["message"]["content"]),
                                                    name)
            assert finding.detail["families"][0] == name
        replica = testbed_config.endpoint("replica")
        answer = (await http.post(f"{replica.base_url}/chat/completions", json={**_body(replica.model)})).json()
        content = answer["choices"][0]["message"].get("content")
        assert check_reasoning_delimiters(Completion(content=content)) == []
        assert check_special_tokens(content or "") == []

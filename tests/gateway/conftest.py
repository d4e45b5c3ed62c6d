"""Shared helpers: a gateway over fake endpoints, in-process (ASGITransport) or on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from parity.gateway import GatewayConfig, create_app, parse_gateway_config

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def make_config(names: list[str], *, urls: dict[str, str] | None = None, alias: dict[str, Any] | None = None,
                endpoint: dict[str, Any] | None = None, **sections: Any) -> GatewayConfig:
    urls = urls or {}
    raw: dict[str, Any] = {
        "endpoints": [{"name": n, "base_url": urls.get(n, f"http://{n}.test/v1"), "model": f"m-{n}",
                       "max_concurrency": 64, "timeout_s": 5.0, **(endpoint or {})} for n in names],
        # stickiness off unless a test is about it: fault tests want every request routed afresh
        "models": [{"alias": "m", "endpoints": names, "sticky": False, **(alias or {})}],
        **sections,
    }
    return parse_gateway_config(raw)


class Harness:
    def __init__(self, fakes: dict[str, Any], config: GatewayConfig, **kw: Any) -> None:
        self.fakes = fakes
        self.app = create_app(config, transports={n: httpx.ASGITransport(f) for n, f in fakes.items()}, **kw)
        self.gw = self.app.state.gateway
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url="http://gw")

    async def chat(self, **body: Any) -> httpx.Response:
        headers = body.pop("headers", {})
        payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}
        return await self.client.post("/v1/chat/completions", json=payload, headers=headers)

    def total(self, name: str = "parity_gateway_requests_total") -> float:
        """Sum over all label sets: every client request is counted exactly once."""
        return sum(s.value for m in self.gw.metrics.registry.collect() for s in m.samples if s.name == name)

    def metric(self, name: str, **labels: str) -> float:
        value = self.gw.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else float(value)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.gw.aclose()


@pytest.fixture
async def harness() -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(fakes: dict[str, Any], config: GatewayConfig | None = None, **kw: Any) -> Harness:
        h = Harness(fakes, config or make_config(list(fakes)), **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        await h.aclose()

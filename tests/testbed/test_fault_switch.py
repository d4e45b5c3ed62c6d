"""The fault proxy's switch and misroute modes: pure routing, and through the proxy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from parity.testbed.faults import FaultConfig, create_app, request_digest
from parity.testbed.faults._switch import MisrouteSpec, Router, SwitchSpec

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _digest(i: int) -> bytes:
    return request_digest({"messages": [{"role": "user", "content": f"q{i}"}]}, 0)


def test_switch_after_n_requests() -> None:
    r = Router("http://a", SwitchSpec(upstream="http://b/", after_requests=3))
    assert [r.route(_digest(i)).upstream for i in range(5)] == ["http://a"] * 3 + ["http://b"] * 2
    assert r.route(_digest(9)).label == "switch"


def test_switch_at_a_time_and_back() -> None:
    clock = Clock()
    spec = SwitchSpec(sampling_override=True, at=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    r = Router("http://a", spec, clock=clock)
    seen = []
    for minutes in (0, 59, 60, 119, 120):
        clock.now = T0 + timedelta(minutes=minutes)
        seen.append(r.route(_digest(minutes)).override_sampling)
    assert seen == [False, False, True, True, False]


def test_misroute_takes_its_share_in_its_window_only() -> None:
    clock = Clock()
    spec = MisrouteSpec(upstream="http://b", share=0.1, start=T0, end=T0 + timedelta(hours=1))
    r = Router("http://a", misroute=spec, clock=clock)
    taken = sum(r.route(_digest(i)).upstream == "http://b" for i in range(4000))
    assert 320 <= taken <= 480  # Binomial(4000, 0.1): mean 400, sd 19
    clock.now = T0 + timedelta(hours=1)
    assert all(r.route(_digest(i)).upstream == "http://a" for i in range(200))
    again = Router("http://a", misroute=spec, clock=Clock())
    assert [again.route(_digest(i)).label for i in range(50)] == \
        [Router("http://a", misroute=spec, clock=Clock()).route(_digest(i)).label for i in range(50)]


@pytest.mark.parametrize("bad", [
    {"upstream": "http://b"},  # neither at nor after_requests
    {"upstream": "http://b", "at": T0, "after_requests": 1},
    {"after_requests": 1},  # changes nothing
    {"upstream": "http://b", "at": T0.replace(tzinfo=None)},
    {"upstream": "http://b", "at": T0, "until": T0},
])
def test_bad_switches_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SwitchSpec.model_validate(bad)


class _Upstream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.bodies.append(body)
        message = {"role": "assistant", "content": f"from {self.name}"}
        return JSONResponse({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                             "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


class _ByHost(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict[str, Any]) -> None:
        self.apps = {h: httpx.ASGITransport(app) for h, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.apps[request.url.host].handle_async_request(request)


async def test_the_proxy_follows_the_switch() -> None:
    a, b = _Upstream("a"), _Upstream("b")
    config = FaultConfig(upstream="http://a.test", switch=SwitchSpec(
        upstream="http://b.test", sampling_override=True, after_requests=2))
    async with httpx.AsyncClient(transport=_ByHost({"a.test": a.app, "b.test": b.app})) as up:
        proxy = httpx.AsyncClient(transport=httpx.ASGITransport(create_app(config, client=up)),
                                  base_url="http://proxy")
        async with proxy:
            texts = []
            for i in range(4):
                r = await proxy.post("/v1/chat/completions", json={
                    "messages": [{"role": "user", "content": f"hi {i}"}], "temperature": 0.0})
                texts.append(r.json()["choices"][0]["message"]["content"])
    assert texts == ["from a", "from a", "from b", "from b"]
    assert [x["temperature"] for x in a.bodies] == [0.0, 0.0]
    assert [x["temperature"] for x in b.bodies] == [config.server_sampling["temperature"]] * 2

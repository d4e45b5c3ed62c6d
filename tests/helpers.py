"""Helpers shared by tests: fake endpoints wired through the transport seam, configs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from parity.case import Case
from parity.config import ParityConfig, parse_config
from parity.fake import Answer, Call, FakeEndpoint

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


def weather_cases(n: int = 40) -> list[Case]:
    """Half the cases ask for the weather (should call), half are chit-chat."""
    return [
        Case(
            id=f"case-{i}",
            body={
                "messages": [{"role": "user", "content": f"What is the weather in city {i}?" if i % 2
                              else f"Say hello number {i}."}],
                "tools": [WEATHER],
                "tool_choice": "auto",
            },
        )
        for i in range(n)
    ]


def healthy_script(body: dict[str, Any]) -> Answer:
    """Calls get_weather exactly when the user asks about the weather."""
    text = str(body["messages"][-1].get("content", ""))
    if "weather" in text and body.get("tools"):
        return Answer(content=None, calls=(Call("get_weather", '{"city": "Paris"}'),))
    return Answer(content="Hello!")


def make_config(*names: str, **extra: Any) -> ParityConfig:
    eps = [
        {"name": n, "base_url": f"http://{n}.test/v1", "model": "m", "reference": i == 0, **extra}
        for i, n in enumerate(names)
    ]
    return parse_config({"endpoints": eps})


Transport = Callable[[Any], httpx.AsyncBaseTransport]


def transports(apps: dict[str, FakeEndpoint]) -> Transport:
    return lambda ep: httpx.ASGITransport(apps[ep.name])  # type: ignore[arg-type]

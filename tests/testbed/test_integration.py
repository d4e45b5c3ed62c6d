"""The real testbed: llama.cpp servers on 127.0.0.1 serving SmolLM2-135M.

Built (cached) and brought up once per session by the ``real_testbed`` fixture;
the last test takes it down and checks that nothing is left running.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from parity.config import load_config
from parity.testbed import RunningVariant, Testbed
from parity.testbed.faults import FAULT_HEADER

pytestmark = pytest.mark.integration

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


def ask(record: RunningVariant, content: str, **extra: Any) -> httpx.Response:
    body = {
        "model": record.model,
        "messages": [{"role": "user", "content": content}],
        "tools": [WEATHER_TOOL],
        "temperature": 0,
        "max_tokens": 48,
        **extra,
    }
    return httpx.post(f"{record.base_url}/chat/completions", json=body, timeout=300)


def by_name(testbed: Testbed) -> dict[str, RunningVariant]:
    return {s.record.variant: s.record for s in testbed.status() if s.alive and s.healthy}


def test_every_variant_answers_a_tool_request(real_testbed: Testbed) -> None:
    running = by_name(real_testbed)
    assert set(running) == {"reference", "replica", "q2", "template", "faults"}
    for name, record in running.items():
        response = ask(record, "What is the weather in Paris?")
        assert response.status_code == 200, (name, response.text)
        choice = response.json()["choices"][0]
        assert choice["finish_reason"] in {"stop", "length", "tool_calls"}, name
        for call in choice["message"].get("tool_calls") or []:
            assert isinstance(call["function"]["arguments"], str), name


def test_replica_agrees_with_reference_at_temperature_zero(real_testbed: Testbed) -> None:
    running = by_name(real_testbed)
    prompt = "Name three colours."
    answers = [
        ask(running[n], prompt).json()["choices"][0]["message"] for n in ("reference", "replica")
    ]
    assert answers[0] == answers[1]


def test_template_variant_drops_the_tools(real_testbed: Testbed) -> None:
    running = by_name(real_testbed)
    usage = {
        n: ask(running[n], "Hi").json()["usage"]["prompt_tokens"] for n in ("reference", "template")
    }
    # The tool's JSON schema is in the reference's prompt only.
    assert usage["template"] < usage["reference"] - 40


def test_faults_proxy_names_its_faults(real_testbed: Testbed) -> None:
    proxy = by_name(real_testbed)["faults"]
    seen = set()
    for i in range(12):
        response = ask(proxy, f"What is the weather in city number {i}?", max_tokens=24)
        assert response.status_code == 200
        if fault := response.headers.get(FAULT_HEADER):
            seen.add(fault)
    # The proxy draws a fault from a hash of the request and its seed, so these 12 requests
    # draw the same faults every run. The draw is 60% (ten modes at 6%), 48% for a fault that
    # applies to a request that is not streamed: were the draws independent, none in 12 would
    # have probability 0.52**12 = 4e-4.
    assert seen, "12 requests at ~48% fault rate and not one fault"


def test_config_describes_the_running_endpoints(real_testbed: Testbed, tmp_path: Any) -> None:
    config = load_config(real_testbed.write_config(tmp_path / "parity.toml"))
    assert config.reference.name == "reference"
    assert sorted(e.name for e in config.candidates) == ["faults", "q2", "replica", "template"]
    models = httpx.get(f"{config.reference.base_url}/models", timeout=10).json()
    assert json.dumps(models).count("smollm2") >= 1


# Taking the shared testbed down, and checking that nothing is left running, is
# done by the session fixture `real_testbed` in tests/conftest.py.

"""The fault proxy's family leaks: each family's call syntax (rendered with its official
template) and its reasoning delimiters, each caught by the checks under the family's name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testbed.test_fault_proxy import WEATHER, ProxyFactory, chat, post

from parity.checks import check_markup, check_reasoning_delimiters
from parity.exchange import Completion
from parity.families import FAMILIES, family
from parity.testbed.faults import FaultConfig, FaultMode, create_app

TEMPLATES = Path(__file__).parents[1] / "families" / "templates"
RENDERED = [f.name for f in FAMILIES if f.templates]
REASONING = [f.name for f in FAMILIES if any(closer for _, closer in f.reasoning)]


def _message(data: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = data["choices"][0]["message"]
    return message


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("name", RENDERED)
async def test_each_family_call_leak_is_caught_by_name(make_proxy: ProxyFactory, name: str, stream: bool) -> None:
    proxy = make_proxy((FaultMode.MARKUP_LEAK, 1.0), leak_families=[name], templates_dir=str(TEMPLATES))
    response = await proxy.post("/v1/chat/completions", json=chat(WEATHER, stream=stream))
    assert response.headers["x-parity-fault-family"] == name
    data, fault = await post(proxy, chat(WEATHER, stream=stream))
    assert fault == "markup_leak" and data["choices"][0]["finish_reason"] == "stop"
    message = _message(data)
    assert not message.get("tool_calls")
    (finding,) = check_markup(Completion(content=message["content"]), {"get_weather"})
    assert finding.detail["family"] == name and finding.detail["calls"] == ["get_weather"]


@pytest.mark.parametrize("name", REASONING)
async def test_each_family_reasoning_leak_is_caught(make_proxy: ProxyFactory, name: str) -> None:
    proxy = make_proxy((FaultMode.REASONING_LEAK, 1.0), leak_families=[name])
    data, fault = await post(proxy, chat("Tell me about Paris.", tools=False))
    assert fault == "reasoning_leak"
    (finding,) = check_reasoning_delimiters(Completion(content=_message(data)["content"]), name)
    fam = family(name)
    assert fam is not None and finding.detail["delimiter"] in fam.delimiters
    assert finding.detail["families"][0] == name


async def test_leak_family_is_drawn_per_request_and_reproducible(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy((FaultMode.MARKUP_LEAK, 1.0), leak_families=RENDERED, templates_dir=str(TEMPLATES))
    seen: dict[str, str] = {}
    for i in range(40):
        body = chat(f"{WEATHER} (request {i})")
        first = (await proxy.post("/v1/chat/completions", json=body)).headers["x-parity-fault-family"]
        again = (await proxy.post("/v1/chat/completions", json=body)).headers["x-parity-fault-family"]
        assert first == again
        seen[first] = body["messages"][0]["content"]
    assert len(seen) >= 8  # 40 draws over 16 families


def test_config_refuses_unknown_families_and_missing_templates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown leak families"):
        FaultConfig(upstream="http://u", leak_families=["nope"])
    with pytest.raises(ValueError, match="needs templates_dir"):
        FaultConfig(upstream="http://u", faults=[{"mode": "markup_leak", "rate": 1.0}], leak_families=["gemma4"])
    config = FaultConfig(upstream="http://u", faults=[{"mode": "markup_leak", "rate": 1.0}],
                         leak_families=["gemma4"], templates_dir=str(tmp_path))
    with pytest.raises(ValueError, match="no template of family 'gemma4'"):
        create_app(config)


def test_testbed_config_declares_the_served_chat_format() -> None:
    """The variants serve Qwen2.5's tool template: the written parity.toml declares that family,
    and it loads (an unknown family would be a configuration error)."""
    import tomllib
    from datetime import UTC, datetime

    from parity.config import parse_config
    from parity.families import family
    from parity.testbed._state import RunningVariant
    from parity.testbed._toml import endpoints_toml
    from parity.testbed._variants import ServerSettings

    records = [RunningVariant(variant=n, kind="llama-server", pid=1, port=p, base_url=f"http://127.0.0.1:{p}/v1",
                              health_url=f"http://127.0.0.1:{p}/health", model="smollm2", log_path="x", argv=[],
                              started_at=datetime.now(UTC)) for n, p in (("reference", 8001), ("replica", 8002))]
    cfg = parse_config(tomllib.loads(endpoints_toml(records, ServerSettings())))
    assert {e.declared.family for e in cfg.endpoints} == {"qwen2.5"}
    fam = family("qwen2.5")
    assert fam is not None and fam.name == "qwen3"

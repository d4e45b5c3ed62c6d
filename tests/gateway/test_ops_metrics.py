"""/metrics: tokens per endpoint and model, spend where a price is configured, build info."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from parity._version import __version__
from parity.config import EndpointConfig
from parity.fake import Answer, FakeEndpoint
from parity.gateway import GatewayConfig

from .conftest import make_config

USAGE = {"prompt_tokens": 1000, "completion_tokens": 250, "total_tokens": 1250}


def _priced(cfg: GatewayConfig, name: str, inp: float, out: float) -> GatewayConfig:
    """``price`` on one endpoint: the real field where the configuration defines it."""
    if "price" in EndpointConfig.model_fields:
        raw = cfg.model_dump()
        for e in raw["endpoints"]:
            if e["name"] == name:
                e["price"] = {"input": inp, "output": out}
        return GatewayConfig.model_validate(raw)
    eps = [e.model_copy(update={"price": SimpleNamespace(input=inp, output=out)}) if e.name == name else e
           for e in cfg.endpoints]
    return cfg.model_copy(update={"endpoints": eps})


async def test_tokens_spend_and_build_info(harness: Any) -> None:
    fake = FakeEndpoint(lambda b: Answer(content="hi", usage=USAGE))
    cfg = _priced(make_config(["a", "b"], alias={"policy": "price", "prices": {"a": 0}}), "a", 3.0, 15.0)
    h = harness({"a": fake, "b": FakeEndpoint(lambda b: Answer(content="hi", usage=USAGE))}, cfg)
    for stream in (False, True):
        extra = {"stream_options": {"include_usage": True}} if stream else {}
        assert (await h.chat(stream=stream, **extra)).status_code == 200
    assert h.metric("parity_gateway_tokens_total", endpoint="a", model="m", kind="prompt") == 2000
    assert h.metric("parity_gateway_tokens_total", endpoint="a", model="m", kind="completion") == 500
    # 2 x (1000 x $3 + 250 x $15) per million tokens
    assert abs(h.metric("parity_gateway_spend_usd_total", endpoint="a", model="m") - 2 * 0.00675) < 1e-12
    text = (await h.client.get("/metrics")).text
    assert 'parity_gateway_build_info{python="' in text and f'version="{__version__}"' in text
    assert "parity_gateway_spend_usd_total{endpoint=\"b\"" not in text  # no price, no spend


async def test_no_price_no_spend(harness: Any) -> None:
    h = harness({"a": FakeEndpoint(lambda b: Answer(content="hi", usage=USAGE))})
    assert (await h.chat()).status_code == 200
    assert h.metric("parity_gateway_tokens_total", endpoint="a", model="m", kind="prompt") == 1000
    assert h.metric("parity_gateway_spend_usd_total", endpoint="a", model="m") == 0


async def test_rejected_answers_tokens_are_counted(harness: Any) -> None:
    from parity.fake import Call

    from .conftest import TOOLS

    bad = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("get_weather", "{x"),), usage=USAGE))
    cfg = make_config(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}})
    h = harness({"bad": bad, "ok": FakeEndpoint(lambda b: Answer(content="hi", usage=USAGE))}, cfg)
    for stream in (False, True):
        extra = {"stream_options": {"include_usage": True}} if stream else {}
        r = await h.chat(tools=TOOLS, stream=stream, **extra)
        assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert h.metric("parity_gateway_tokens_total", endpoint="bad", model="m", kind="completion") == 500

"""Token and cost metrics: prompt and completion tokens per endpoint and model, spend
where a price is configured, and a build-info gauge.

Prices are read from an endpoint's optional ``price`` (USD per million input and
output tokens) when the configuration defines one; without it no spend is counted.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Gauge

from parity._version import __version__
from parity.config import EndpointConfig

from ._telemetry import CachedCounter

__all__ = ["TokenMetrics", "usage_of"]


def _price(endpoint: EndpointConfig) -> tuple[float, float] | None:
    price = getattr(endpoint, "price", None)  # optional field; absent in older configurations
    if price is None:
        return None
    inp, out = getattr(price, "input", None), getattr(price, "output", None)
    if isinstance(inp, int | float) and isinstance(out, int | float) and inp >= 0 and out >= 0:
        return float(inp), float(out)
    return None


def usage_of(body: bytes | None) -> tuple[dict[str, Any] | None, list[str]]:
    """(usage, finish reasons) of a chat completion, completion or Responses body; bounded parse."""
    if not body:
        return None, []
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    reasons = [c["finish_reason"] for c in data.get("choices") or []
               if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)][:16]
    if not reasons and isinstance(data.get("status"), str):  # Responses API
        reasons = [data["status"]]
    return usage, reasons


def tokens(usage: Mapping[str, Any] | None) -> tuple[int, int]:
    """(input, output) tokens from chat-completions or Responses usage; 0 where absent."""
    if not usage:
        return 0, 0
    inp = usage.get("prompt_tokens", usage.get("input_tokens"))
    out = usage.get("completion_tokens", usage.get("output_tokens"))
    return (inp if isinstance(inp, int) and inp >= 0 else 0), (out if isinstance(out, int) and out >= 0 else 0)


class TokenMetrics:
    def __init__(self, registry: CollectorRegistry, endpoints: Iterable[EndpointConfig]) -> None:
        self._prices = {e.name: p for e in endpoints if (p := _price(e)) is not None}
        self.tokens = CachedCounter("parity_gateway_tokens", "Tokens reported by upstreams' usage.",
                              ["endpoint", "model", "kind"], registry=registry)
        self.spend = CachedCounter("parity_gateway_spend_usd", "Spend from usage and the endpoint's price.",
                             ["endpoint", "model"], registry=registry)
        build = Gauge("parity_gateway_build_info", "Always 1; the labels say which build is running.",
                      ["version", "python"], registry=registry)
        build.labels(__version__, platform.python_version()).set(1)

    def record(self, endpoint: str, model: str, usage: Mapping[str, Any] | None) -> tuple[int, int]:
        inp, out = tokens(usage)
        if inp:
            self.tokens.labels(endpoint, model, "prompt").inc(inp)
        if out:
            self.tokens.labels(endpoint, model, "completion").inc(out)
        price = self._prices.get(endpoint)
        if price is not None and (inp or out):
            self.spend.labels(endpoint, model).inc((inp * price[0] + out * price[1]) / 1e6)
        return inp, out

"""The price and latency policies use what parity knows: configured prices, measured speed."""

from __future__ import annotations

from typing import Any

from parity.fake import FakeEndpoint
from parity.gateway import parse_gateway_config
from parity.store import Store
from parity.verdict import Estimate, Outcome, Verdict


def _config(policy: str, prices: dict[str, dict[str, float]] | None = None) -> Any:
    names = ["a", "b", "c"]
    eps = [{"name": n, "base_url": f"http://{n}.test/v1", "model": f"m-{n}", "timeout_s": 5.0,
            **({"price": prices[n]} if prices and n in prices else {})} for n in names]
    return parse_gateway_config({"endpoints": eps, "models": [
        {"alias": "m", "endpoints": names, "policy": policy, "sticky": False}]})


async def test_price_policy_uses_the_endpoints_configured_prices(harness: Any) -> None:
    # Blended 3:1: a = (3·1 + 8)/4 = 2.75, b = (3·0.5 + 2)/4 = 0.875, c has none (last).
    cfg = _config("price", {"a": {"input": 1.0, "output": 8.0}, "b": {"input": 0.5, "output": 2.0}})
    h = harness({n: FakeEndpoint() for n in "abc"}, cfg)
    served = [(await h.chat()).headers["x-parity-endpoint"] for _ in range(5)]
    assert served == ["b"] * 5


def _speed(ep: str, latency: float) -> Verdict:
    return Verdict(endpoint=ep, suite="speed", verdict=Outcome.PASS, test="t", alpha=0.05, requests=90,
                   metrics={"latency_s.p50": Estimate(value=latency, low=latency * 0.9, high=latency * 1.1,
                                                      n=90)})


async def test_latency_policy_starts_from_the_measured_speed(harness: Any, tmp_path: Any) -> None:
    store = Store(str(tmp_path / "v.db"))
    store.save_verdicts("run-1", [_speed("a", 4.0), _speed("b", 0.2), _speed("c", 9.0)])
    h = harness({n: FakeEndpoint() for n in "abc"}, _config("latency"), store=store)
    # No live timing yet: without the measured figures each endpoint not yet timed would be
    # tried first in turn (a, b, c in some order); with them b stays first.
    served = [(await h.chat()).headers["x-parity-endpoint"] for _ in range(3)]
    assert served == ["b"] * 3
    store.close()

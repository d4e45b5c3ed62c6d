"""Tokens and money per verdict, from reported usage and the configured price."""

from __future__ import annotations

import pytest
from helpers import make_config

from parity.config import ConfigError, Price, parse_config
from parity.cost import annotate_usage, usage
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.verdict import Outcome, Verdict


def _ex(prompt: int | None, out: int | None, attempts: int = 1) -> Exchange:
    u = None if prompt is None else {"prompt_tokens": prompt, "completion_tokens": out}
    return Exchange(status=ExchangeStatus.OK, run_id="r", endpoint="a", suite="s", case_id="c",
                    case_hash="h", request={}, attempts=attempts, completion=Completion(content="x", usage=u))


def test_usage_sums_reported_counts_only() -> None:
    u = usage([_ex(100, 10), _ex(50, 5, attempts=2), _ex(None, None)])
    assert (u.requests, u.reported, u.prompt_tokens, u.completion_tokens) == (4, 2, 150, 15)
    assert u.cost(Price(input=2.0, output=10.0)) == pytest.approx((150 * 2 + 15 * 10) / 1e6)
    assert u.cost(None) is None


def test_price_in_config() -> None:
    cfg = make_config("a", "b", price={"input": 0.5, "output": 1.5})
    assert cfg.endpoint("b").price == Price(input=0.5, output=1.5)
    with pytest.raises(ConfigError, match="price"):
        parse_config({"endpoints": [{"name": "a", "base_url": "http://a", "model": "m", "reference": True,
                                     "price": {"input": -1, "output": 1}}]})


def test_each_verdict_gains_its_spend() -> None:
    cfg = make_config("a", "b", price={"input": 1.0, "output": 2.0})
    v = Verdict(endpoint="a", suite="s", verdict=Outcome.REFERENCE, test="t", alpha=0.05, requests=1)
    out = annotate_usage([v], {"a": [_ex(1000, 100)]}, cfg.endpoints)
    assert out[0].metrics["tokens_prompt"].value == 1000
    assert out[0].metrics["cost_usd"].value == pytest.approx(0.0012)
    assert out[0].metrics["latency_s.p50"].n == 1 and "ttft_s.p50" not in out[0].metrics
    bare = annotate_usage([v], {"a": [_ex(1000, 100)]}, make_config("a", "b").endpoints)
    assert "cost_usd" not in bare[0].metrics

"""Tokens, money and time a run spent, per endpoint and per verdict (pure).

Counts come from each answer's ``usage`` as the endpoint reported it (the
billable figure); answers without ``usage`` are counted as unreported, never
guessed. Money is ``tokens × price`` when the endpoint's configuration states a
price (USD per million tokens); without one it is left out, not zero. Every
exchange is also a speed measurement: the median latency (and TTFT, for
streamed answers) of the verdict's exchanges, all input lengths together; the
speed suite breaks them down by input length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from parity.config import EndpointConfig, Price
from parity.exchange import Exchange
from parity.stats.quantiles import quantile_ci
from parity.verdict import Estimate, Verdict

__all__ = ["Usage", "annotate_usage", "usage"]


@dataclass(frozen=True)
class Usage:
    requests: int  # attempts made, failed ones included
    reported: int  # answers that reported usage
    prompt_tokens: int
    completion_tokens: int

    def cost(self, price: Price | None) -> float | None:
        return None if price is None else price.cost(self.prompt_tokens, self.completion_tokens)


def _count(u: Mapping[str, object], key: str) -> int:
    v = u.get(key)
    return v if isinstance(v, int) and 0 <= v < 10**9 else 0


def usage(exchanges: Iterable[Exchange]) -> Usage:
    requests = reported = prompt = completion = 0
    for x in exchanges:
        requests += x.attempts
        u = x.completion.usage if x.completion is not None else None
        if isinstance(u, dict):
            reported += 1
            prompt += _count(u, "prompt_tokens")
            completion += _count(u, "completion_tokens")
    return Usage(requests, reported, prompt, completion)


def usage_metrics(u: Usage, price: Price | None) -> dict[str, Estimate]:
    """The verdict's spend: exact sums, so no interval; ``n`` is the answers that reported usage."""
    out = {
        "tokens_prompt": Estimate(value=float(u.prompt_tokens), n=u.reported, method="sum of usage"),
        "tokens_completion": Estimate(value=float(u.completion_tokens), n=u.reported,
                                      method="sum of usage"),
    }
    cost = u.cost(price)
    if cost is not None:
        out["cost_usd"] = Estimate(value=cost, n=u.reported, method="usage × configured price")
    return out


def time_metrics(exchanges: Sequence[Exchange]) -> dict[str, Estimate]:
    answered = [x for x in exchanges if x.ok]
    out = {}
    if answered:
        out["latency_s.p50"] = quantile_ci([x.latency_s for x in answered], 0.5)
    ttfts = [x.ttft_s for x in answered if x.streamed and x.ttft_s is not None]
    if ttfts:
        out["ttft_s.p50"] = quantile_ci(ttfts, 0.5)
    return out


def annotate_usage(verdicts: Sequence[Verdict], exchanges: Mapping[str, Sequence[Exchange]],
                   endpoints: Sequence[EndpointConfig]) -> list[Verdict]:
    """Each verdict with what its suite spent on its endpoint added to its metrics."""
    prices = {e.name: e.price for e in endpoints}
    out = []
    for v in verdicts:
        mine = exchanges.get(v.endpoint, ())
        extra = {**usage_metrics(usage(mine), prices.get(v.endpoint)), **time_metrics(mine)}
        out.append(v.model_copy(update={"metrics": {**v.metrics, **extra}}))
    return out

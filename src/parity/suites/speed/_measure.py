"""Speed from exchanges (pure): time to first token and output tokens per second.

Every exchange parity makes is a measurement: ``latency_s`` always, ``ttft_s``
when the answer was streamed (a non-streamed answer's first token arrives with
its last, so it has no real TTFT), and output tokens per second from
``usage.completion_tokens / (latency − ttft)`` -- the decode rate after the
first token -- when streamed and usage was reported. Figures are grouped by
input length (``usage.prompt_tokens``) because TTFT grows with the prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from parity.exchange import Exchange
from parity.stats.quantiles import quantile_ci
from parity.verdict import Estimate

# Input-length buckets: (upper bound in prompt tokens, label), as data.
BUCKETS: tuple[tuple[int, str], ...] = ((128, "≤128"), (512, "129–512"), (2048, "513–2048"),
                                        (10**9, ">2048"))
MIN_DECODE_TOKENS = 8  # fewer generated tokens say more about the clock than the decoder
QUANTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Timing:
    bucket: str
    latency_s: float
    ttft_s: float | None
    tokens_per_s: float | None


def bucket_of(prompt_tokens: int | None) -> str:
    if prompt_tokens is None:
        return "unknown"
    return next(label for bound, label in BUCKETS if prompt_tokens <= bound)


def timing(x: Exchange) -> Timing | None:
    """What one answered exchange says about speed; None for a failed request."""
    if not x.ok or x.completion is None:
        return None
    u = x.completion.usage or {}
    prompt, out = u.get("prompt_tokens"), u.get("completion_tokens")
    prompt = prompt if isinstance(prompt, int) else None
    tps = None
    if x.streamed and x.ttft_s is not None and isinstance(out, int) and out >= MIN_DECODE_TOKENS:
        decode = x.latency_s - x.ttft_s
        tps = (out - 1) / decode if decode > 0 else None  # the first token came with the TTFT
    return Timing(bucket_of(prompt), x.latency_s, x.ttft_s if x.streamed else None, tps)


def timings(exchanges: Iterable[Exchange]) -> list[Timing]:
    return [t for t in map(timing, exchanges) if t is not None]


def _label(q: float) -> str:
    return f"p{round(q * 100)}"


def speed_metrics(ts: Sequence[Timing]) -> dict[str, Estimate]:
    """``ttft_s.p50[≤128]``, ``tokens_per_s.p90[129–512]``, ... with order-statistic intervals."""
    out: dict[str, Estimate] = {}
    for bucket in sorted({t.bucket for t in ts}):
        mine = [t for t in ts if t.bucket == bucket]
        series = {"ttft_s": [t.ttft_s for t in mine if t.ttft_s is not None],
                  "tokens_per_s": [t.tokens_per_s for t in mine if t.tokens_per_s is not None],
                  "latency_s": [t.latency_s for t in mine]}
        for name, values in series.items():
            for q in QUANTILES:
                if values:
                    out[f"{name}.{_label(q)}[{bucket}]"] = quantile_ci(values, q)
    return out

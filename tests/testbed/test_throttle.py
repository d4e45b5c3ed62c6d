"""A throttled proxy is measured as throttled: TTFT and tokens/s bounded by the throttle.

Real sockets on 127.0.0.1 (an in-process ASGI transport would buffer the
stream and hide the TTFT). The bounds come from the throttle, not from how
fast this machine is: the proxy cannot send the first token before its added
latency, nor tokens faster than its cap.
"""

from __future__ import annotations

from typing import Any

import pytest

from parity.config import parse_config
from parity.fake import Answer, FakeEndpoint, serve
from parity.runner import Runner
from parity.store import Store
from parity.suites.speed import SpeedSuite
from parity.testbed.faults import FaultConfig, Throttle, create_app
from parity.verdict import Outcome

LATENCY_S, TOKENS_PER_S = 0.25, 40.0
TOKENS = 24  # content chunks of 4 characters each: one token each


def _script(body: dict[str, Any]) -> Answer:
    return Answer(content="abcd" * TOKENS,
                  usage={"prompt_tokens": 30, "completion_tokens": TOKENS, "total_tokens": 30 + TOKENS})


async def test_throttled_proxy_is_measured_as_such(store: Store) -> None:
    upstream_app = FakeEndpoint(_script)
    with serve(upstream_app) as upstream:
        throttle = Throttle(added_latency_s=LATENCY_S, tokens_per_s=TOKENS_PER_S)
        with serve(create_app(FaultConfig(upstream=upstream, throttle=throttle))) as proxy:
            cfg = parse_config({"endpoints": [
                {"name": "ref", "base_url": upstream + "/v1", "model": "m", "reference": True},
                {"name": "slow", "base_url": proxy + "/v1", "model": "m"}]})
            suite = SpeedSuite(per_length=6, lengths={"short": 1}, max_tokens=64)
            result = await Runner(cfg, [suite], store, new_run=True).run()
    by = {v.endpoint: v for v in result.verdicts}
    slow, ref = by["slow"].metrics, by["ref"].metrics
    ttft, tps = slow["ttft_s.p50[≤128]"], slow["tokens_per_s.p50[≤128]"]
    assert ttft.n == 6 and tps.n == 6
    # Hard bounds: the throttle sleeps at least this long before the first token ...
    assert ttft.value is not None and ttft.value >= LATENCY_S
    # ... and never lets tokens out faster than its cap (5% for clock granularity).
    assert tps.value is not None and tps.value <= TOKENS_PER_S * 1.05
    # Generous lower bound, from the throttle: a loaded machine may add delay, not speed.
    assert tps.value >= TOKENS_PER_S / 4
    assert ref["ttft_s.p50[≤128]"].value < ttft.value  # type: ignore[operator]
    assert by["slow"].verdict is Outcome.FAIL and by["slow"].failing_checks == ["speed.slower_than_reference"]


def test_throttle_is_validated() -> None:
    with pytest.raises(ValueError):
        Throttle(tokens_per_s=0)
    with pytest.raises(ValueError):
        Throttle(added_latency_s=-1)

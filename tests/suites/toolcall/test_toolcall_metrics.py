"""Comparison metrics: bootstrapped by case, whatever order the answers completed in."""

from __future__ import annotations

import random

from parity.suites.toolcall.metrics import comparison_metrics
from parity.suites.toolcall.observe import Observation


def _obs(key: str, repeat: int, called: bool, valid: bool = True) -> Observation:
    return Observation(key=key, repeat=repeat, ok=True, called=called, finish="tool_calls" if called else "stop",
                       n_calls=int(called), errors=frozenset() if valid else frozenset({"tool_call.invalid_json"}),
                       calls_valid=int(called and valid))


def test_intervals_do_not_depend_on_completion_order() -> None:
    rnd = random.Random(5)
    ref = [_obs(f"c{i:03d}", 0, called=i % 2 == 0) for i in range(80)]
    cand = [_obs(f"c{i:03d}", r, called=(i % 2 == 0) != (rnd.random() < 0.2), valid=rnd.random() > 0.1)
            for i in range(80) for r in range(2)]
    base = comparison_metrics(cand, ref, seed=1)
    assert base["trigger_f1"].low is not None
    for _ in range(4):  # the same answers, completed (and stored) in other orders
        again = comparison_metrics(rnd.sample(cand, len(cand)), rnd.sample(ref, len(ref)), seed=1)
        assert {k: e.model_dump() for k, e in again.items()} == {k: e.model_dump() for k, e in base.items()}

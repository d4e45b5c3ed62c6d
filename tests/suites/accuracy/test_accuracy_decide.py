"""The accuracy decision on synthetic per-item scores (pure, no endpoint)."""

from __future__ import annotations

import numpy as np
import pytest

from parity.suites.accuracy import Design, decide


def _scores(p: np.ndarray, k: int, rng: np.random.Generator) -> dict[str, list[float]]:
    return {f"i{j}": [float(x) for x in rng.random(k) < pj] for j, pj in enumerate(p)}


def _design(n: int, batch: int = 50) -> Design:
    return Design(alpha=0.05, margin=0.1, looks=(*range(batch, n, batch), n), k=16)


def test_same_model_passes_with_many_items_and_repeats() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 300)
    order = [f"i{j}" for j in range(300)]
    d = decide(order, _scores(p, 16, rng), _scores(p, 16, rng), _design(300), 300)
    assert d.outcome == "pass" and d.stopped_at is not None and d.stopped_at <= 300
    assert -0.1 < d.lower <= 0 <= d.upper < 0.1


def test_worse_model_fails_at_an_early_look() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.2, 1, 300)
    order = [f"i{j}" for j in range(300)]
    d = decide(order, _scores(p, 4, rng), _scores(p - 0.2, 4, rng), _design(300), 300)
    assert d.outcome == "fail" and d.stopped_at is not None and d.stopped_at <= 150
    assert d.max_e_value >= 20 and d.p_value <= 0.05 and d.upper < 0


def test_items_not_yet_sent_are_not_looked_at() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 100)
    order = [f"i{j}" for j in range(100)]
    d = decide(order, _scores(p, 4, rng), _scores(p, 4, rng), _design(100, 25), 50)
    assert [lk["items"] for lk in d.looks] == [25, 50]


def test_an_item_one_side_never_answered_is_skipped() -> None:
    ref = {"a": [1.0], "b": [0.0]}
    cand = {"a": [1.0]}
    d = decide(["a", "b"], ref, cand, _design(2, 2), 2)
    assert d.items == 1 and d.diffs == [0.0]


@pytest.mark.parametrize("seed", range(3))
def test_false_fail_rate_of_identical_models_is_at_most_alpha(seed: int) -> None:
    # 100 simulated runs per seed; with alpha 0.05 more than 15 fails would be
    # a 1-in-10^4 event for a valid test (binomial upper tail).
    rng = np.random.default_rng(seed)
    order = [f"i{j}" for j in range(80)]
    fails = 0
    for _ in range(100):
        p = rng.uniform(0, 1, 80)
        d = decide(order, _scores(p, 4, rng), _scores(p, 4, rng), _design(80, 20), 80)
        fails += d.outcome == "fail"
    assert fails <= 15

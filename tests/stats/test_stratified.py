"""The per-prompt (stratified) MMD permutation test."""

from __future__ import annotations

import numpy as np
import pytest

from parity.stats.stratified import stratified_mmd_test


def _draw(rng: np.random.Generator, probs: np.ndarray, n: int, length: int = 6) -> list[list[int]]:
    return [list(rng.choice(len(probs), size=length, p=probs)) for _ in range(n)]


def _samples(seed: int, temp_y: float, prompts: int = 8, k: int = 4):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x, y, px, py = [], [], [], []
    for p in range(prompts):
        logits = np.random.default_rng(1000 + p).normal(size=6) * 1.5
        for t, out, ids in ((1.0, x, px), (temp_y, y, py)):
            w = np.exp(logits / t)
            out += _draw(rng, w / w.sum(), k)
            ids += [p] * k
    return x, y, px, py


def test_null_is_calibrated() -> None:
    ps = []
    for seed in range(60):
        x, y, px, py = _samples(seed, 1.0)
        ps.append(stratified_mmd_test(x, y, prompt_ids_x=px, prompt_ids_y=py, length=6,
                                      n_permutations=200, seed=seed).p_value)
    assert sum(p <= 0.1 for p in ps) <= 12  # ~6 expected
    assert 0.35 < float(np.mean(ps)) < 0.65


def test_detects_a_lower_temperature() -> None:
    x, y, px, py = _samples(0, 0.4, prompts=12, k=6)
    r = stratified_mmd_test(x, y, prompt_ids_x=px, prompt_ids_y=py, length=6, n_permutations=500)
    assert r.p_value < 0.01 and r.statistic > 0 and r.n_x == r.n_y == 72


def test_prompts_with_one_sample_are_left_out() -> None:
    r = stratified_mmd_test([[1], [2]], [[1]], prompt_ids_x=["a", "a"], prompt_ids_y=["a"], length=1)
    assert r.p_value == 1.0 and r.n_x == 0
    with pytest.raises(ValueError):
        stratified_mmd_test([[1]], [[1]], prompt_ids_x=[], prompt_ids_y=["a"], length=1)

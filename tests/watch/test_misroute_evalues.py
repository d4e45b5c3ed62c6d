"""The misrouting bench's conformal e-values (bench/_watchconformal.py) are valid under their null.

(The K-controls rank e-value, once prototyped there, is the watch's own: tests/watch/test_controls.py.)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _watchconformal import ConformalCusum, ConformalPool, step_evalue


def test_step_evalues_integrate_to_one() -> None:
    grid = (np.arange(200_000) + 0.5) / 200_000
    assert np.mean([step_evalue(float(p)) for p in grid]) == pytest.approx(1.0, abs=1e-3)


def test_conformal_p_values_are_uniform_with_ties() -> None:
    rng, pool, ps = random.Random(1), ConformalPool(), []
    for _ in range(4000):
        s = 0.0 if rng.random() < 0.9 else rng.random()  # mostly ties, as a deterministic replica
        ps.append(pool.p_value(s, rng.random()))
        pool.add(s)
    counts = np.histogram(ps, bins=10, range=(0, 1))[0]
    assert counts.min() > 330 and counts.max() < 470  # 400 each; ±3.5 sd


def test_the_conformal_detector_stays_quiet_on_a_null_and_finds_a_shift() -> None:
    rng = random.Random(2)
    conf = ConformalCusum(alarm=500, window=100, seed=3)
    conf_alarms = sum(conf.tick(rng.random()) >= 500 for _ in range(2000))  # stationary: E <= 4
    assert conf_alarms <= 12
    grown = [conf.tick(1.0 + t) for t in range(40)]  # every new score the largest so far
    assert max(grown) >= 500

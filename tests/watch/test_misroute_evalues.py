"""The misrouting bench's e-values (bench/_watchconformal.py) are valid under their nulls."""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _watchconformal import ConformalCusum, ConformalPool, EvalueCusum, rank_evalue, step_evalue


@pytest.mark.parametrize("values", [(0.0, 0.0, 0.0, 0.0), (0.0, 0.2, 0.0, 0.1), (0.3, 0.3, 0.1, 0.0)])
def test_the_rank_evalue_averages_one_over_every_order(values: tuple[float, ...]) -> None:
    # Exchangeable y and controls: every position is y's with equal chance.
    es = [rank_evalue(p[0], list(p[1:])) for p in itertools.permutations(values)]
    assert sum(es) / len(es) == pytest.approx(1.0)
    assert rank_evalue(0.0, [0.0] * 9) == 1.0 and rank_evalue(0.2, [0.0] * 9) == 10.0
    assert rank_evalue(0.0, [0.0, 0.1]) == 0.0


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


def test_the_detectors_stay_quiet_on_a_null_and_find_a_shift() -> None:
    rng = random.Random(2)
    conf, ctl = ConformalCusum(alarm=500, window=100, seed=3), EvalueCusum(alarm=500, window=100)
    conf_alarms = sum(conf.tick(rng.random()) >= 500 for _ in range(2000))  # stationary: E <= 4
    assert conf_alarms <= 12
    grown = [conf.tick(1.0 + t) for t in range(40)]  # every new score the largest so far
    assert max(grown) >= 500
    null_alarms = sum(ctl.tick([rank_evalue(rng.random(), [rng.random() for _ in range(9)])
                                for _ in range(4)]) >= 500 for _ in range(2000))
    assert null_alarms <= 12  # E[alarms] <= 2000/500 = 4
    shifted = next(t for t in range(1, 200) if ctl.tick([rank_evalue(1.0, [rng.random() for _ in range(9)])
                                                         for _ in range(4)]) >= 500)
    assert shifted <= 2

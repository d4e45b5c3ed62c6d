"""Item-clustered accuracy intervals and item-paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from parity.stats import clustered_mean, item_spread, paired_item_diff
from parity.stats.clustered import design_effect


def test_clustered_mean_is_the_mean_of_item_means() -> None:
    est = clustered_mean({"a": [1, 1, 1, 1], "b": [0, 0], "c": [1, 0]})
    assert est.value == pytest.approx(0.5) and est.n == 3 and est.method == "item-clustered t"


def test_repeats_do_not_shrink_the_interval_below_the_item_spread() -> None:
    # Every item answered always the same way: repeats add no information.
    few = clustered_mean({f"i{j}": [float(j % 2)] * 2 for j in range(20)})
    many = clustered_mean({f"i{j}": [float(j % 2)] * 32 for j in range(20)})
    assert (few.low, few.high) == (many.low, many.high)
    assert design_effect({f"i{j}": [float(j % 2)] * 32 for j in range(20)}) == pytest.approx(639 / 19)


def test_clustered_interval_covers_the_population_accuracy() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        p = rng.beta(0.5, 0.5, 40)  # population mean 0.5, strongly clustered
        scores = {f"i{j}": list((rng.random(8) < pj).astype(float)) for j, pj in enumerate(p)}
        est = clustered_mean(scores)
        covered += est.low <= 0.5 <= est.high  # type: ignore[operator]
    assert covered >= 180  # nominal 95%: 190 expected


def test_paired_difference_uses_items_on_both_sides() -> None:
    est = paired_item_diff({"a": [1, 1], "b": [0, 1], "c": [1]}, {"a": [0, 1], "b": [0, 1]})
    assert est.n == 2 and est.value == pytest.approx(-0.25)


def test_item_spread_is_the_five_numbers() -> None:
    assert item_spread({}) is None
    assert tuple(item_spread({"a": [0], "b": [0.5, 0.5], "c": [1]}) or ()) == (0, 0.25, 0.5, 0.75, 1)

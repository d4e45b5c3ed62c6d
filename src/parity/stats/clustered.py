"""Accuracy over items answered several times: intervals clustered by item, paired differences.

An accuracy benchmark answered ``k`` times per item is not ``n·k`` independent
trials: repeats of one item share its difficulty, so an interval over all
answers pooled would be too narrow. Here the item is the unit: each item's
mean score over its repeats is one observation, and intervals are taken over
items (the cluster-robust interval with equal cluster sizes). A candidate is
compared with the reference item by item (paired), which removes the
between-item variance from the difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from parity.stats.proportions import mean_ci
from parity.verdict import Estimate

__all__ = ["ItemSpread", "clustered_mean", "item_means", "item_spread", "paired_item_diff"]

Scores = Mapping[str, Sequence[float]]  # item id -> its scores, one per answered repeat


def item_means(scores: Scores) -> dict[str, float]:
    """Each item's mean score over its answered repeats; items with none are left out."""
    return {item: float(np.mean(s)) for item, s in scores.items() if len(s) > 0}


def clustered_mean(scores: Scores, level: float = 0.95) -> Estimate:
    """Mean accuracy over items with a t-interval over item means (clustered by item).

    Every item weighs the same whatever its number of answered repeats.
    Assumes items drawn independently from a population of items; the
    interval covers the *population* accuracy, so it does not shrink to zero
    however many repeats are drawn (the item-to-item spread remains). ``n`` is
    the number of items. Scores are in ``[0, 1]``; the interval is clipped to it.
    """
    means = item_means(scores)
    est = mean_ci(list(means.values()), level)
    return _clipped(est, 0.0, 1.0, "item-clustered t")


def paired_item_diff(reference: Scores, candidate: Scores, level: float = 0.95) -> Estimate:
    """Candidate minus reference accuracy, paired by item, with a t-interval over items.

    Only items answered at least once on both sides count; ``n`` is that number.
    """
    ref, cand = item_means(reference), item_means(candidate)
    diffs = [cand[i] - ref[i] for i in ref if i in cand]
    est = mean_ci(diffs, level)
    return _clipped(est, -1.0, 1.0, "paired by item, t")


def _clipped(est: Estimate, lo: float, hi: float, method: str) -> Estimate:
    """Scores lie in [0, 1]: an interval past the possible range says nothing more there."""
    low = None if est.low is None else max(est.low, lo)
    high = None if est.high is None else min(est.high, hi)
    return est.model_copy(update={"low": low, "high": high, "method": method})


class ItemSpread(tuple[float, float, float, float, float]):
    """Five numbers of item means: minimum, lower quartile, median, upper quartile, maximum."""

    __slots__ = ()


def item_spread(scores: Scores) -> ItemSpread | None:
    """Box-plot numbers of the per-item accuracies; None without any answered item."""
    means = list(item_means(scores).values())
    if not means:
        return None
    q = np.quantile(np.asarray(means), [0.0, 0.25, 0.5, 0.75, 1.0])
    return ItemSpread(tuple(float(v) for v in q))


def design_effect(scores: Scores) -> float | None:
    """How much wider the item-clustered variance is than a pooled binomial one (>= 0).

    ``var(item means)/n_items`` over ``var(all scores)/n_answers``: 1 when
    repeats are as informative as new items, ``k`` when repeats add nothing.
    """
    means = item_means(scores)
    pooled = [x for s in scores.values() for x in s]
    if len(means) < 2 or len(pooled) < 2:
        return None
    v_pooled = float(np.var(pooled, ddof=1)) / len(pooled)
    if v_pooled == 0.0:
        return None
    v_items = float(np.var(list(means.values()), ddof=1)) / len(means)
    return v_items / v_pooled if math.isfinite(v_items) else None

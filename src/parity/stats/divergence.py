"""Distances between next-token distributions seen only through top-k logprobs.

OpenAI-compatible endpoints report, per generated position, the ``k`` most
likely tokens with their log-probabilities. Comparing a candidate with the
reference at the same position (same prompt, same prefix) bounds how far
apart their full next-token distributions are, without seeing the rest of
the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from parity.stats.sequential import BettingTest

__all__ = ["logprob_difference_test", "topk_tv_lower_bound"]


def _probs(logprobs: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for tok, lp in logprobs.items():
        if math.isnan(lp) or lp > 1e-6:
            raise ValueError(f"logprob of {tok!r} must be <= 0, got {lp}")
        out[tok] = math.exp(min(lp, 0.0))
    return out


def _one_sided(p: Mapping[str, float], q: Mapping[str, float], ranked: bool) -> float:
    """Lower bound on ``max_A P(A) - Q(A)`` over sets ``A`` of tokens listed in ``p``."""
    gain = sum(max(pv - q[t], 0.0) for t, pv in p.items() if t in q)
    only_p = sorted((pv for t, pv in p.items() if t not in q), reverse=True)
    # Q's mass outside its own list bounds Q on tokens it did not list ...
    q_rest = max(0.0, 1.0 - sum(q.values()))
    # ... and, if Q's list is its top-k, so does its smallest listed probability.
    q_floor = min(q.values()) if (ranked and q) else math.inf
    best, taken = gain, 0.0
    for c, pv in enumerate(only_p, start=1):
        taken += pv
        best = max(best, gain + taken - min(c * q_floor, q_rest))
    return best


def topk_tv_lower_bound(
    p: Mapping[str, float], q: Mapping[str, float], *, ranked: bool = True
) -> float:
    """A lower bound on the total variation between two full next-token distributions.

    ``p`` and ``q`` map tokens to log-probabilities (the ``top_logprobs`` of one
    position from each endpoint). ``TV(P, Q) = max_A P(A) - Q(A)``, so any set
    or coarsening gives a lower bound. The result is the largest of:

    1. **Coarsening** — merge every token not listed by *both* into one cell
       ``R``. By data processing, ``TV >= ½ (Σ_common |P(t) - Q(t)| + |P(R) - Q(R)|)``
       with ``P(R) = 1 - Σ_common P(t)``. Uses only reported values.
    2. **Sets** — ``A`` = common tokens where ``P > Q`` plus the ``c`` most likely
       tokens listed only by ``p``. ``P(A)`` is known exactly; ``Q(A)`` is at most
       ``Σ_common Q(t) + min(c · q_min, 1 - Σ_listed Q)`` because a token that
       ``q`` did not list has at most its unlisted mass and, when ``q`` lists its
       top-k (``ranked=True``), at most its smallest listed probability.
       The best ``c`` is taken; then the same with ``p`` and ``q`` swapped.

    Assumptions: the logprobs are of the distribution the endpoint sampled from
    (same prefix on both sides), and with ``ranked`` each list holds the most
    likely tokens. Rounding in reported logprobs can make listed mass exceed 1;
    it is treated as zero unlisted mass. The bound is exact when both lists
    cover the whole support and is 0 for identical inputs.
    """
    pp, qq = _probs(p), _probs(q)
    common = pp.keys() & qq.keys()
    abs_common = sum(abs(pp[t] - qq[t]) for t in common)
    rest = abs(sum(qq[t] for t in common) - sum(pp[t] for t in common))
    coarse = 0.5 * (abs_common + rest)
    bound = max(coarse, _one_sided(pp, qq, ranked), _one_sided(qq, pp, ranked))
    return min(max(bound, 0.0), 1.0)


def logprob_difference_test(
    differences: Iterable[float],
    *,
    scale: float = 1.0,
    test: BettingTest | None = None,
) -> BettingTest:
    """Feed paired per-position differences into a sequential test by betting.

    Each difference ``d_t`` is one paired comparison at the same position —
    e.g. the candidate's logprob of a token minus the reference's logprob of
    the same token after the same prefix. It is mapped to
    ``g_t = clip(d_t / scale, -1, 1)`` and bet on; pass an existing ``test`` to
    continue it. ``scale`` sets which differences count as large; it must be
    fixed in advance, not chosen from the data.

    Assumption (H0): given the past, ``d_t`` is symmetric about zero (for
    instance the two endpoints run the same model and differ only by
    numerical noise that is as likely to go either way). Symmetry, not just a
    zero mean, is needed because clipping keeps the mean at zero only for
    symmetric noise. A systematic shift — quantisation that flattens or
    sharpens the distribution — makes the wealth grow. Positions within one
    response are dependent; that is allowed, as only the conditional mean
    given the past matters.
    """
    if not scale > 0.0 or math.isinf(scale):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    out = test if test is not None else BettingTest()
    for d in differences:
        if math.isnan(d):
            raise ValueError("difference is NaN")
        out.update(min(max(d / scale, -1.0), 1.0))
    return out

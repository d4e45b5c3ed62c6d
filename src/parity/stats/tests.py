"""Exact tests for paired and independent proportions, and Holm's correction.

Each test returns a bare p-value; the caller records it in a
:class:`parity.verdict.TestResult`. Alternatives use one convention throughout:
``"greater"`` means the first-named quantity is larger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats as sps

__all__ = ["Alternative", "binom_upper", "fisher_exact", "holm", "mcnemar_exact"]

Alternative = Literal["two-sided", "greater", "less"]
_ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")


def mcnemar_exact(b: int, c: int, alternative: Alternative = "two-sided") -> float:
    """Exact (conditional) McNemar test on the discordant pairs.

    ``b`` counts pairs that are yes/no, ``c`` pairs that are no/yes. Under H0
    (the two marginal proportions are equal) ``b ~ Binomial(b + c, 1/2)``
    given ``b + c``; the two-sided p-value is scipy's exact binomial one
    (sum of outcomes no more likely than ``b``). ``"greater"`` means ``b > c``.
    Assumes independent pairs. With no discordant pairs there is no evidence:
    the p-value is 1.
    """
    _check_alternative(alternative)
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return float(sps.binomtest(b, b + c, 0.5, alternative=alternative).pvalue)


def fisher_exact(
    k1: int, n1: int, k2: int, n2: int, alternative: Alternative = "two-sided"
) -> float:
    """Fisher's exact test of ``p1 = p2`` for two independent binomial samples.

    Conditions on both margins of the 2x2 table ``[[k1, n1-k1], [k2, n2-k2]]``
    (hypergeometric null), so it is exact but conservative. ``"greater"`` means
    ``p1 > p2``. An empty sample gives a p-value of 1.
    """
    _check_alternative(alternative)
    for k, n in ((k1, n1), (k2, n2)):
        if n < 0 or not 0 <= k <= n:
            raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n1 == 0 or n2 == 0:
        return 1.0
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    _, p = sps.fisher_exact(table, alternative=alternative)
    return float(min(1.0, p))


def holm(p_values: Sequence[float], alpha: float) -> tuple[list[float], list[bool]]:
    """Holm's step-down correction for a family of p-values.

    Controls the family-wise error rate at ``alpha`` under any dependence
    between the tests. Returns the adjusted p-values in input order —
    ``max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values, so
    monotone in the raw ones and capped at 1 — and which hypotheses are
    rejected (adjusted p-value ``<= alpha``).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return [], []
    if np.any(np.isnan(p)) or np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = adjusted_sorted
    return [float(a) for a in adjusted], [bool(a <= alpha) for a in adjusted]


def binom_upper(k: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound for a proportion.

    The ``level`` quantile of ``Beta(k + 1, n - k)``: the largest ``p`` for
    which seeing ``k`` or fewer successes still has probability at least
    ``1 - level``. Exact (conservative) for independent trials; 1 when
    ``k == n`` or ``n == 0``. Use it to bound a failure rate when no or few
    failures were seen (``k = 0`` gives the "rule of three" ``≈ 3/n`` at 95%).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if k == n:
        return 1.0
    return float(sps.beta.ppf(level, k + 1, n - k))

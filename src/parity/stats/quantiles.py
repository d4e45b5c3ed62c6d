"""Distribution-free confidence intervals for quantiles (latency percentiles).

For ``n`` independent draws of a continuous variable, the number of draws
below its ``q``-quantile is Binomial(n, q); so the order statistics
``x_(l) ≤ x_(u)`` with ``P(l ≤ B < u) ≥ level`` bound the quantile with at
least that coverage, whatever the distribution (Hahn & Meeker, Statistical
Intervals, §5.2). With too few draws no such pair exists and the interval is
left open (``None``) rather than made up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from parity.verdict import Estimate

__all__ = ["quantile_ci"]


def _ranks(n: int, q: float, level: float) -> tuple[int, int] | None:
    """1-based ranks ``l < u`` with ``P(x_(l) ≤ ξ_q < x_(u)) = F(u−1) − F(l−1) ≥ level``.

    ``F`` is the Binomial(n, q) CDF; starts from the central ranks and widens.
    """
    tail = (1.0 - level) / 2.0
    lo = max(1, int(sps.binom.ppf(tail, n, q)))
    hi = min(n, int(sps.binom.ppf(1.0 - tail, n, q)) + 1)
    while True:
        cover = float(sps.binom.cdf(hi - 1, n, q) - sps.binom.cdf(lo - 1, n, q))
        if cover >= level and lo < hi:
            return lo, hi
        if lo == 1 and hi == n:
            return None
        lo, hi = max(1, lo - 1), min(n, hi + 1)


def quantile_ci(values: Sequence[float], q: float, level: float = 0.95) -> Estimate:
    """The sample ``q``-quantile with an order-statistic interval of at least ``level``.

    ``n`` is the number of values; below about ``log(1 - level)/log(max(q, 1 - q))``
    values the interval is open on the side that cannot be bounded (``None``).
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = int(x.size)
    method = "order statistics (binomial)"
    if n == 0:
        return Estimate(value=None, n=0, method=method, level=level)
    value = float(np.quantile(x, q))
    ranks = _ranks(n, q, level)
    if ranks is None:
        return Estimate(value=value, n=n, method=method, level=level)
    return Estimate(value=value, low=float(x[ranks[0] - 1]), high=float(x[ranks[1] - 1]), n=n,
                    method=method, level=level)

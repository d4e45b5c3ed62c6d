"""Intervals for proportions, differences of proportions and means.

Every function returns a :class:`parity.verdict.Estimate`: the point value, a
two-sided interval at ``level``, and the count the estimate rests on. When there
is no data (``n == 0``) the value and the interval are ``None`` rather than a
made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import optimize
from scipy import stats as sps

from parity.verdict import Estimate, EstimateKind

PROPORTION, DIFFERENCE = EstimateKind.PROPORTION, EstimateKind.DIFFERENCE

__all__ = ["bootstrap_ci", "mean_ci", "newcombe_diff", "paired_diff", "wilson"]


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _z(level: float) -> float:
    """Two-sided standard normal quantile for a confidence level."""
    _check_level(level)
    return float(sps.norm.ppf(0.5 + level / 2.0))


def _check_count(k: int, n: int) -> None:
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _wilson_bounds(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # The exact bound is 0 at k=0 and 1 at k=n; rounding must not cross them.
    low = 0.0 if k == 0 else _clip(centre - half, 0.0, 1.0)
    high = 1.0 if k == n else _clip(centre + half, 0.0, 1.0)
    return low, high


def wilson(k: int, n: int, level: float = 0.95) -> Estimate:
    """Wilson score interval for a binomial proportion ``k / n``.

    Inverts the score test of ``p = p0``; assumes ``n`` independent trials with
    one success probability. Good coverage even for small ``n`` and for ``k``
    near 0 or ``n``, where the Wald interval fails.
    """
    _check_count(k, n)
    z = _z(level)
    if n == 0:
        return Estimate(value=None, n=0, k=0, method="wilson", level=level, kind=PROPORTION)
    low, high = _wilson_bounds(k, n, z)
    return Estimate(value=k / n, low=low, high=high, n=n, k=k, method="wilson", level=level,
                    kind=PROPORTION)


def newcombe_diff(k1: int, n1: int, k2: int, n2: int, level: float = 0.95) -> Estimate:
    """Newcombe hybrid score interval for ``p1 - p2`` of independent proportions.

    Method 10 of Newcombe (1998, Stat. Med. 17:873): combine the two Wilson
    intervals ``[l1, u1]`` and ``[l2, u2]`` as
    ``d - sqrt((p1-l1)^2 + (u2-p2)^2)`` and ``d + sqrt((u1-p1)^2 + (p2-l2)^2)``.
    Assumes the two samples are independent binomials. ``n`` of the estimate is
    ``n1 + n2``; the value is ``None`` when either sample is empty.
    """
    _check_count(k1, n1)
    _check_count(k2, n2)
    z = _z(level)
    if n1 == 0 or n2 == 0:
        return Estimate(value=None, n=n1 + n2, method="newcombe", level=level, kind=DIFFERENCE)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson_bounds(k1, n1, z)
    l2, u2 = _wilson_bounds(k2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(
        value=d,
        low=_clip(low, -1.0, 1.0),
        high=_clip(high, -1.0, 1.0),
        n=n1 + n2,
        method="newcombe",
        level=level,
        kind=DIFFERENCE,
    )


def _tango_score(delta: float, b: int, c: int, n: int) -> float:
    """Tango's score statistic for ``H0: p_yes/no - p_no/yes = delta``."""
    # Restricted ML estimate of the no/yes cell probability under delta.
    w = -b - c + (2 * n - b + c) * delta
    q21 = (math.sqrt(max(w * w + 8.0 * n * c * delta * (1.0 - delta), 0.0)) - w) / (4.0 * n)
    var = n * (2.0 * q21 + delta * (1.0 - delta))
    num = b - c - n * delta
    if var <= 0.0:
        return math.copysign(math.inf, num) if num != 0 else 0.0
    return num / math.sqrt(var)


def paired_diff(b: int, c: int, n: int, level: float = 0.95) -> Estimate:
    """Tango (1998) score interval for a difference of paired proportions.

    ``b`` counts pairs that are yes/no, ``c`` pairs that are no/yes, ``n`` all
    pairs (concordant included); the value is ``(b - c) / n``. The interval
    inverts Tango's score test (Stat. Med. 17:891), which needs only ``b``,
    ``c`` and ``n`` — Newcombe's paired method 10 would also need the split of
    the concordant pairs. Assumes the ``n`` pairs are independent; within a
    pair the two outcomes may be arbitrarily correlated.
    """
    if n < 0 or b < 0 or c < 0 or b + c > n:
        raise ValueError(f"need b, c >= 0 and b + c <= n, got b={b}, c={c}, n={n}")
    z = _z(level)
    if n == 0:
        return Estimate(value=None, n=0, method="tango", level=level, kind=DIFFERENCE)
    d = (b - c) / n
    eps = 1e-12

    def lower_root(delta: float) -> float:
        return _tango_score(delta, b, c, n) - z

    def upper_root(delta: float) -> float:
        return _tango_score(delta, b, c, n) + z

    # The score is decreasing in delta and equals 0 at delta = d.
    low = -1.0 if d <= -1.0 + eps else float(optimize.brentq(lower_root, -1.0 + eps, d, xtol=1e-12))
    high = 1.0 if d >= 1.0 - eps else float(optimize.brentq(upper_root, d, 1.0 - eps, xtol=1e-12))
    return Estimate(value=d, low=low, high=high, n=n, method="tango", level=level, kind=DIFFERENCE)


def mean_ci(values: Sequence[float], level: float = 0.95,
            kind: EstimateKind = EstimateKind.RATE) -> Estimate:
    """Student-t interval for a mean: ``mean ± t_{n-1} · s / sqrt(n)``.

    Assumes independent observations whose mean is approximately normal
    (small samples from skewed or heavy-tailed data undercover). With one
    observation there is no interval; with none, no value. ``kind``: what the mean is (a
    mean of 0/1 outcomes is a proportion).
    """
    _check_level(level)
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return Estimate(value=None, n=0, method="t", level=level, kind=kind)
    mean = float(x.mean())
    if n == 1:
        return Estimate(value=mean, n=1, method="t", level=level, kind=kind)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(sps.t.ppf(0.5 + level / 2.0, df=n - 1)) * se
    return Estimate(value=mean, low=mean - half, high=mean + half, n=n, method="t", level=level,
                    kind=kind)


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[NDArray[np.float64]], float] = np.mean,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    kind: EstimateKind = EstimateKind.RATE,
) -> Estimate:
    """Percentile bootstrap interval for ``stat(values)`` (an estimate of ``kind``).

    Resamples ``values`` with replacement ``n_boot`` times and takes the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the replicated
    statistic. Assumes independent, identically distributed observations and a
    statistic that is smooth in the empirical distribution (fine for means and
    trimmed means; unreliable for extremes such as the maximum, and for very
    small ``n``). Deterministic for a given ``seed``, and independent of the
    order of ``values`` (they are sorted before resampling: the statistic of a
    sample does not depend on its order, so neither may its interval).
    """
    _check_level(level)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = int(x.size)
    method = "bootstrap-percentile"
    if n == 0:
        return Estimate(value=None, n=0, method=method, level=level, kind=kind)
    value = float(stat(x))
    rng = np.random.default_rng(seed)
    # Chunked so memory stays bounded (about 8 MB of indices) for any n.
    chunk = max(1, (1 << 20) // n)
    reps = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))
        for row, sample_idx in enumerate(idx):
            reps[start + row] = float(stat(x[sample_idx]))
    alpha = 1.0 - level
    low, high = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Estimate(value=value, low=float(low), high=float(high), n=n, method=method, level=level,
                    kind=kind)

"""bench/watch.py's figures: rates of alarms per 30 days and quantiles of delays, with intervals."""

from __future__ import annotations

import math
from typing import Any

from scipy.stats import chi2


def poisson_ci(k: int, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval for a rate: ``k`` events over ``exposure`` units."""
    low = 0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2
    high = chi2.ppf(0.975, 2 * k + 2) / 2
    return low / exposure, high / exposure


def summarise(rows: list[dict[str, Any]], days: float, what: dict[str, Any]) -> dict[str, Any]:
    months = days / 30.0
    out = dict(what, runs=len(rows), days=days)
    for key in ("alarms", "suspects"):
        k = sum(r[key] for r in rows)
        low, high = poisson_ci(k, months)
        out[key] = {"count": k, "per_30_days": k / months, "ci95": [low, high]}
    out["max_statistic"] = max(r["max_statistic"] for r in rows)
    out["levels"] = {"alarm": rows[0]["alarm"], "warn": rows[0]["warn"]}
    out["rows"] = rows
    return out


def quantile_ci(xs: list[float], q: float, level: float = 0.95) -> tuple[float, float, float]:
    """The ``q`` quantile and its distribution-free interval (binomial order statistics).

    Undetected runs enter as +inf, so an interval end at inf means "beyond the horizon".
    """
    from scipy.stats import binom

    s = sorted(xs)
    n = len(s)
    point = s[min(n - 1, max(0, math.ceil(q * n) - 1))]
    a = (1 - level) / 2
    lo = int(binom.ppf(a, n, q))  # P(B <= lo) >= a: the lo-th order statistic (1-based)
    hi = int(binom.ppf(1 - a, n, q)) + 1
    return point, (s[lo - 1] if lo >= 1 else -math.inf), (s[hi - 1] if hi <= n else math.inf)

"""An anytime-valid confidence sequence for the mean of bounded observations.

The predictable plug-in empirical-Bernstein confidence sequence of
Waudby-Smith & Ramdas (2023, "Estimating means of bounded random variables by
betting", Theorem 2), with one-sided bounds each at level ``α``: for
observations ``x_t ∈ [0, 1]`` with conditional mean ``μ``,

    M_t(m) = Π_{i≤t} exp(λ_i (x_i − m) − v_i ψ(λ_i)),   v_i = 4 (x_i − μ̂_{i−1})²,
    ψ(λ) = (−log(1 − λ) − λ) / 4,

is a non-negative supermartingale at ``m = μ`` (and ``Π exp(λ_i (m − x_i) − …)``
likewise), so by Ville's inequality

    L_t = (Σ λ_i x_i − log(1/α) − Σ v_i ψ(λ_i)) / Σ λ_i   ≤ μ   for all t,

with probability at least ``1 − α``, and the same for the upper bound. Both
bounds hold simultaneously with probability ``1 − 2α`` (the interval used by
equivalence tests, as TOST uses a ``1 − 2α`` interval). The bet ``λ_t`` is
predictable (fixed before ``x_t``): ``min(√(2 log(1/α) / (σ̂²_{t−1} t log(1+t))), 1/2)``.
Running intersections keep the bounds monotone, which stays valid.

The e-value of ``H0: μ ≥ m`` is ``M⁻_t(m) = Π exp(λ_i (m − x_i) − v_i ψ(λ_i))``:
its running maximum reaches ``1/α`` exactly when the upper bound drops below ``m``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BettingCS", "BoundedMeanCS"]

_MAX_BET = 0.75  # Waudby-Smith & Ramdas suggest 1/2 or 3/4; 3/4 narrows small-variance bounds


def _psi(lam: float) -> float:
    return (-math.log1p(-lam) - lam) / 4.0


class BoundedMeanCS:
    """Anytime-valid bounds for the mean of observations in ``[low, high]``.

    ``update`` one observation at a time, in the order they were drawn. The
    bounds are for the conditional mean, assumed constant (i.i.d. draws, or
    items in a random order fixed before any answer).
    """

    def __init__(self, alpha: float, low: float = 0.0, high: float = 1.0, null: float = 0.0) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if not high > low:
            raise ValueError(f"need high > low, got [{low}, {high}]")
        self.alpha, self._low, self._span = alpha, low, high - low
        self._m0 = (null - low) / self._span  # H0: mean >= null, in [0, 1] units
        self._log = math.log(1.0 / alpha)
        self.n = 0
        self._sum_x = 0.0
        self._sum_sq = 0.0  # Σ (x_i − μ̂_i)², for σ̂²
        self._sum_lam = self._sum_lam_x = self._sum_pen = 0.0
        self._log_e = 0.0
        self._max_log_e = 0.0
        self._lower, self._upper = 0.0, 1.0

    def _bet(self) -> tuple[float, float]:
        t = self.n + 1
        mu_prev = (0.5 + self._sum_x) / t
        var_prev = (0.25 + self._sum_sq) / t
        lam = math.sqrt(2.0 * self._log / (var_prev * t * math.log1p(t)))
        return min(lam, _MAX_BET), mu_prev

    def update(self, value: float) -> None:
        """Observe one value in ``[low, high]``."""
        x = (value - self._low) / self._span
        if not -1e-9 <= x <= 1.0 + 1e-9:  # also rejects NaN
            raise ValueError(f"observation {value} outside [{self._low}, {self._low + self._span}]")
        x = min(max(x, 0.0), 1.0)
        lam, mu_prev = self._bet()
        pen = 4.0 * (x - mu_prev) ** 2 * _psi(lam)
        self._sum_lam += lam
        self._sum_lam_x += lam * x
        self._sum_pen += pen
        self._log_e += lam * (self._m0 - x) - pen
        self._max_log_e = max(self._max_log_e, self._log_e)
        self.n += 1
        self._sum_x += x
        mu_now = (0.5 + self._sum_x) / (self.n + 1)
        self._sum_sq += (x - mu_now) ** 2
        centre = self._sum_lam_x / self._sum_lam
        half = (self._log + self._sum_pen) / self._sum_lam
        self._lower = max(self._lower, centre - half)
        self._upper = min(self._upper, centre + half)

    @property
    def lower(self) -> float:
        """Lower bound at level ``α`` (anytime valid), in the observations' units."""
        return self._low + self._span * self._lower

    @property
    def upper(self) -> float:
        """Upper bound at level ``α`` (anytime valid), in the observations' units."""
        return self._low + self._span * max(self._upper, self._lower)

    @property
    def e_value(self) -> float:
        """Current e-value against ``H0: mean ≥ null``."""
        return math.exp(min(self._log_e, 700.0))

    @property
    def max_e_value(self) -> float:
        """Largest e-value so far: ``≥ 1/α`` exactly when :meth:`rejects_null`."""
        return math.exp(min(self._max_log_e, 700.0))

    def rejects_null(self) -> bool:
        """Whether ``H0: mean ≥ null`` is rejected at ``α`` (sticky, anytime valid)."""
        return self._max_log_e >= self._log - 1e-12


_GRID = 400  # steps of the betting bounds' grid over [low, high]
_HEDGE = 0.5  # the bet is at most half of what would risk the whole capital


class BettingCS:
    """Anytime-valid bounds for a bounded mean from betting (capital) processes: tighter tests.

    For each ``m`` of a grid over ``[low, high]`` (the null included), two capital
    processes, in ``[0, 1]`` units (Waudby-Smith & Ramdas 2023, §4–5):

        K⁻_t(m) = Π (1 + λ⁻_i(m) (m − x_i)),   K⁺_t(m) = Π (1 + λ⁺_i(m) (x_i − m)),

    non-negative supermartingales when the mean is ``≥ m`` (resp. ``≤ m``): the
    bet on a fall is a fair-or-worse game when there is none. By Ville's
    inequality ``K⁻`` ever reaching ``1/α`` has probability ``≤ α`` under
    ``H0: mean ≥ m``. The bets are the aGRAPA plug-in (§5.3): predictable,
    ``λ = (m − μ̂)/(σ̂² + (m − μ̂)²)`` (resp. ``(μ̂ − m)/…``), from the mean and
    variance of the values before ``x_t``, clipped to ``[0, ½/(1 − m)]`` (resp.
    ``[0, ½/m]``) so that no single value can cost more than half the capital.

    Unlike :class:`BoundedMeanCS`, whose bet is sized for a narrow interval
    (shrinking like ``1/√(t log t)``), aGRAPA bets what the data so far say is
    the growth-optimal fraction against each ``m``: when the mean is away from
    ``m`` the capital grows at close to the best possible rate, so a real
    difference is detected with fewer items.

    * ``upper``: every grid point above it is rejected by its ``K⁻`` (running
      maximum ``≥ 1/α``): ``mean ≤ upper`` for all t with probability ``≥ 1 − α``
      (conservative by the grid step); ``lower`` likewise with ``K⁺``.
    * ``e_value`` / ``max_e_value`` / ``rejects_null``: ``K⁻(null)``, the
      e-process of ``H0: mean ≥ null`` (the null is a grid point). Rejecting it
      puts the upper bound at or below the null whenever every larger grid point
      is rejected too, as it is when the bets grow with ``m`` (the usual case).
    """

    def __init__(self, alpha: float, low: float = 0.0, high: float = 1.0, null: float = 0.0) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if not high > low:
            raise ValueError(f"need high > low, got [{low}, {high}]")
        if not low <= null <= high:
            raise ValueError(f"null {null} outside [{low}, {high}]")
        self.alpha, self._low, self._span = alpha, low, high - low
        m0 = (null - low) / self._span
        self._m = np.unique(np.append(np.linspace(0.0, 1.0, _GRID + 1), m0))
        self._null = int(np.searchsorted(self._m, m0))
        self._log = math.log(1.0 / alpha)
        size = self._m.size
        self._log_k_down, self._log_k_up = np.zeros(size), np.zeros(size)
        self._max_down, self._max_up = np.zeros(size), np.zeros(size)
        self.n = 0
        self._sum_x = 0.0
        self._sum_sq = 0.0
        self._lower, self._upper = 0.0, 1.0
        with np.errstate(divide="ignore"):
            self._cap_down = np.minimum(_HEDGE / (1.0 - self._m), 1e6)
            self._cap_up = np.minimum(_HEDGE / self._m, 1e6)

    def update(self, value: float) -> None:
        """Observe one value in ``[low, high]``."""
        x = (value - self._low) / self._span
        if not -1e-9 <= x <= 1.0 + 1e-9:  # also rejects NaN
            raise ValueError(f"observation {value} outside [{self._low}, {self._low + self._span}]")
        x = min(max(x, 0.0), 1.0)
        t = self.n + 1
        mu, var = (0.5 + self._sum_x) / t, (0.25 + self._sum_sq) / t
        gap = self._m - mu
        lam_down = np.clip(gap / (var + gap * gap), 0.0, self._cap_down)
        lam_up = np.clip(-gap / (var + gap * gap), 0.0, self._cap_up)
        self._log_k_down += np.log1p(lam_down * (self._m - x))
        self._log_k_up += np.log1p(lam_up * (x - self._m))
        np.maximum(self._max_down, self._log_k_down, out=self._max_down)
        np.maximum(self._max_up, self._log_k_up, out=self._max_up)
        self.n = t
        self._sum_x += x
        self._sum_sq += (x - (0.5 + self._sum_x) / (t + 1)) ** 2
        crossed = self._log - 1e-12
        kept = np.flatnonzero(self._max_down < crossed)  # m not rejected as an upper bound
        upper = 0.0 if kept.size == 0 else float(self._m[min(kept[-1] + 1, self._m.size - 1)])
        kept = np.flatnonzero(self._max_up < crossed)
        lower = 1.0 if kept.size == 0 else float(self._m[max(kept[0] - 1, 0)])
        self._upper, self._lower = min(self._upper, upper), max(self._lower, lower)

    @property
    def lower(self) -> float:
        """Lower bound at level ``α`` (anytime valid), in the observations' units."""
        return self._low + self._span * min(self._lower, self._upper)

    @property
    def upper(self) -> float:
        """Upper bound at level ``α`` (anytime valid), in the observations' units."""
        return self._low + self._span * self._upper

    @property
    def e_value(self) -> float:
        """Current e-value against ``H0: mean ≥ null``."""
        return math.exp(min(float(self._log_k_down[self._null]), 700.0))

    @property
    def max_e_value(self) -> float:
        """Largest e-value so far: ``≥ 1/α`` exactly when :meth:`rejects_null`."""
        return math.exp(min(float(self._max_down[self._null]), 700.0))

    def rejects_null(self) -> bool:
        """Whether ``H0: mean ≥ null`` is rejected at ``α`` (sticky, anytime valid)."""
        return bool(self._max_down[self._null] >= self._log - 1e-12)

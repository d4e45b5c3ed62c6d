"""Anytime-valid sequential tests by betting (e-processes).

A test martingale starts with wealth 1 and bets on each new observation; under
H0 no strategy makes money on average, so by Ville's inequality
``P(sup_t K_t >= 1/α) <= α``. Sampling can therefore stop the moment the
wealth crosses ``1/α`` — or at any other data-dependent time — without
inflating the type-I error, which fixed-n tests cannot offer.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = [
    "BettingTest",
    "PairedKernelBettingTest",
    "e_to_p",
    "hamming_kernel",
    "hamming_similarity",
]

T = TypeVar("T")

# Online Newton step constant for log-loss betting with |λ| <= 1/2
# (Cutkosky & Orabona 2018; Shekhar & Ramdas 2023, Algorithm 1).
_ONS_RATE = 2.0 / (2.0 - math.log(3.0))
_TOL = 1e-9


def e_to_p(e: float) -> float:
    """Convert an e-value to a p-value: ``min(1, 1/e)`` (valid by Markov)."""
    if math.isnan(e) or e < 0.0:
        raise ValueError(f"an e-value is non-negative, got {e}")
    return 1.0 if e <= 1.0 else 1.0 / e


class BettingTest:
    """Test martingale for ``H0: E[g_t | past] = 0`` with ``g_t ∈ [-1, 1]``.

    Wealth ``K_t = Π_s (1 + λ_s g_s)``. The bet ``λ_t`` is fixed before ``g_t`` is
    seen (predictable) by the online Newton step of Shekhar & Ramdas (2023,
    "Nonparametric two-sample testing by betting"): with ``z_s = g_s / (1 + λ_s g_s)``,
    ``λ_{t+1} = clip(λ_t + c · z_t / (1 + Σ_{s<=t} z_s²), -max_bet, max_bet)``,
    ``c = 2 / (2 - ln 3)``. ``λ`` may be negative, so the test is two-sided:
    it gains whether the mean of ``g`` is positive or negative.

    Assumptions: each ``g_t`` lies in ``[-1, 1]`` and, under H0, has
    conditional mean zero given everything observed before it. Then ``K_t`` is
    a non-negative supermartingale and ``P(sup_t K_t >= 1/α) <= α``.
    """

    def __init__(self, *, max_bet: float = 0.5) -> None:
        if not 0.0 < max_bet <= 0.5:
            # Above 1/2 the ONS regret bound no longer holds; at 1 wealth can hit 0.
            raise ValueError(f"max_bet must be in (0, 0.5], got {max_bet}")
        self._max_bet = max_bet
        self._bet = 0.0
        self._sum_z2 = 0.0
        self._log_wealth = 0.0
        self._max_log_wealth = 0.0
        self._n = 0

    @property
    def n(self) -> int:
        """Observations seen so far."""
        return self._n

    @property
    def bet(self) -> float:
        """The bet ``λ`` that will be applied to the next observation."""
        return self._bet

    @property
    def log_e_value(self) -> float:
        """Natural log of the current wealth."""
        return self._log_wealth

    @property
    def e_value(self) -> float:
        """Current wealth ``K_t``: an e-value at any stopping time."""
        return _exp(self._log_wealth)

    @property
    def max_e_value(self) -> float:
        """Largest wealth reached so far (not itself an e-value; see :meth:`rejects`)."""
        return _exp(self._max_log_wealth)

    def update(self, g: float) -> None:
        """Bet on one observation ``g ∈ [-1, 1]``."""
        if not -1.0 - _TOL <= g <= 1.0 + _TOL:  # also rejects NaN
            raise ValueError(f"observation must lie in [-1, 1], got {g}")
        g = min(max(g, -1.0), 1.0)
        factor = 1.0 + self._bet * g  # >= 1/2 because |λ| <= 1/2
        self._log_wealth += math.log(factor)
        self._max_log_wealth = max(self._max_log_wealth, self._log_wealth)
        z = g / factor
        self._sum_z2 += z * z
        step = self._bet + _ONS_RATE * z / (1.0 + self._sum_z2)
        self._bet = min(max(step, -self._max_bet), self._max_bet)
        self._n += 1

    def extend(self, gs: Sequence[float]) -> None:
        """Bet on several observations in order."""
        for g in gs:
            self.update(g)

    def rejects(self, alpha: float) -> bool:
        """Whether the wealth has ever reached ``1/α`` (Ville's inequality).

        Sticky: once crossed it stays rejected, which is what makes stopping at
        the first crossing valid; the type-I error over the whole, unbounded
        run is at most ``α``.
        """
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        return self._max_log_wealth >= -math.log(alpha) - 1e-12


def _exp(x: float) -> float:
    return math.inf if x > 709.0 else math.exp(x)


def hamming_similarity(a: Sequence[object], b: Sequence[object], length: int) -> float:
    """Fraction of the first ``length`` positions where ``a`` and ``b`` agree.

    Same convention as :func:`parity.stats.mmd.hamming_kernel_matrix`: past its
    end a sequence carries a padding symbol that matches only padding.
    """
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    la, lb = min(len(a), length), min(len(b), length)
    shared = min(la, lb)
    matches: int = sum(map(operator.eq, a[:shared], b[:shared]))
    return (matches + length - max(la, lb)) / length


def hamming_kernel(length: int) -> Callable[[Sequence[object], Sequence[object]], float]:
    """The Hamming similarity at a fixed ``length``, as a two-argument kernel."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")

    def kernel(a: Sequence[object], b: Sequence[object]) -> float:
        return hamming_similarity(a, b, length)

    return kernel


class PairedKernelBettingTest(Generic[T]):
    """Sequential kernel two-sample test by betting, on paired draws.

    Each step observes one draw ``x_t`` from the reference and one ``y_t`` from
    the candidate for the same prompt. The witness is built from earlier pairs
    of the same prompt only, ``h(u) = mean_s [k(u, x_s) - k(u, y_s)]``, and the
    bet is placed on ``g_t = (h(x_t) - h(y_t)) / 2 ∈ [-1, 1]`` (for a kernel
    with values in ``[0, 1]``) through a :class:`BettingTest`. This is the
    sequential MMD of Shekhar & Ramdas (2023) with a plug-in witness.

    Validity: ``g_t`` is antisymmetric in ``(x_t, y_t)``, so if under H0 the two
    draws of a pair are exchangeable given the past (independent draws from
    the same conditional distribution given the prompt), ``E[g_t | past] = 0``
    and the wealth is a test martingale. Power comes from prompts seen more
    than once: the first pair of a prompt only seeds its witness.

    Cost per step is ``4 × (past pairs of the prompt)`` kernel calls; ``window``
    keeps only the latest pairs per prompt, which bounds it (and stays valid).
    """

    def __init__(
        self,
        kernel: Callable[[T, T], float],
        *,
        window: int | None = None,
        max_bet: float = 0.5,
    ) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._kernel = kernel
        self._window = window
        self._test = BettingTest(max_bet=max_bet)
        self._past: dict[Hashable, deque[tuple[T, T]]] = {}

    @property
    def n(self) -> int:
        """Pairs observed so far (including those that only seeded a witness)."""
        return self._test.n

    @property
    def e_value(self) -> float:
        return self._test.e_value

    @property
    def max_e_value(self) -> float:
        return self._test.max_e_value

    @property
    def betting(self) -> BettingTest:
        """The underlying test martingale."""
        return self._test

    def rejects(self, alpha: float) -> bool:
        """Whether the wealth has ever reached ``1/α``; see :meth:`BettingTest.rejects`."""
        return self._test.rejects(alpha)

    def witness(self, x: T, y: T, prompt: Hashable = None) -> float:
        """``g`` for a new pair given the pairs seen so far (no state change)."""
        past = self._past.get(prompt)
        if not past:
            return 0.0
        k = self._kernel
        total = 0.0
        for xs, ys in past:
            total += k(x, xs) - k(x, ys) - k(y, xs) + k(y, ys)
        return total / (2.0 * len(past))

    def update(self, x: T, y: T, prompt: Hashable = None) -> None:
        """Observe one reference draw ``x`` and one candidate draw ``y``."""
        self._test.update(self.witness(x, y, prompt))
        past = self._past.get(prompt)
        if past is None:
            past = self._past[prompt] = deque(maxlen=self._window)
        past.append((x, y))

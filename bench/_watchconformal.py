"""An experimental detector for misrouting windows: a conformal e-CUSUM on the candidate's tick scores.

Why (docs/watch.md, "Misrouting: the bound"): with one reference control per
candidate request, any e-value that is valid whenever the candidate's and the
control's answers are exchangeable is at most 2 per request, so a detector
at a 30-day ARL needs at least ln(8640)/ln 2 = 13.1 misrouted requests —
131 requests at a 10% share, 65 minutes at 2 requests per minute. To do
better, a misrouted request must be able to carry more than ln 2 nats; that
needs a finer null distribution than one control gives.

This detector gets it from the candidate's own history, under a different
null: *stationarity*. A tick's score is ``s_t = Σ_i D(a_i, y_i)``, the sum over
the tick's prompts of the first-token TV lower bound between the reference's
anchor and the candidate's answer (fixed prompts, fresh draws every tick). If
neither endpoint changes, ``s_1, s_2, ...`` are i.i.d., hence exchangeable, and
the smoothed conformal p-values

    p_t = (#{j < t: s_j > s_t} + u_t · (#{j < t: s_j = s_t} + 1)) / t,   u_t ~ U(0, 1)

are independent and uniform (Vovk, Nouretdinov & Gammerman 2003). Each tick's
e-value is a mixture of step calibrators, ``e_t = mean_c (1 − λ + λ·1{p_t <= c}/c)``
(each term has mean 1 under a uniform p), so a tick whose score exceeds every
earlier one carries up to ``ln(λ t / |C|)`` nats — it grows with the history.
The e-CUSUM over these e-values (a process per tick, statistic = the largest
wealth, alarm at ``A``) then has ``E[τ_A] >= A`` ticks under stationarity.

What the guarantee needs, and does not: exchangeability of the candidate's
tick scores over time (both endpoints stationary: same models, same noise);
it does NOT need the candidate to serve what the reference serves — a
candidate different from the start is stationary and never alarms here (the
watch's own e-CUSUM covers that). Load-dependent nondeterminism that changes
over the day breaks stationarity, and would be read as a change.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence

import numpy as np

CUTS: tuple[float, ...] = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4)
BETS: tuple[float, ...] = (0.05, 0.2, 0.5)


def step_evalue(p: float, lam: float = 0.5, cuts: Sequence[float] = CUTS) -> float:
    """``1 − λ + λ·mean_c 1{p <= c}/c``: an e-value for a uniform p (each step integrates to 1)."""
    return 1.0 - lam + lam * sum(1.0 / c for c in cuts if p <= c) / len(cuts)


class ConformalPool:
    """Every score so far, sorted; the smoothed conformal p-value of the next one."""

    def __init__(self) -> None:
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def p_value(self, s: float, u: float) -> float:
        lo, hi = bisect.bisect_left(self._sorted, s), bisect.bisect_right(self._sorted, s)
        above, ties = len(self._sorted) - hi, hi - lo
        return (above + u * (ties + 1)) / (len(self._sorted) + 1)

    def add(self, s: float) -> None:
        bisect.insort(self._sorted, s)


class ConformalCusum:
    """e-CUSUM over conformal step e-values of the tick scores (window and reset as the watch's).

    Each process is the mixture ``mean_λ Π_t (1 − λ + λ·mean_c 1{p_t <= c}/c)`` over ``bets``
    (an average of test martingales is one): the bet that fits the misrouted share in hindsight,
    at the price of ``ln len(bets)``.
    """

    def __init__(self, alarm: float, window: int, bets: Sequence[float] = BETS, cuts: Sequence[float] = CUTS,
                 seed: int = 0) -> None:
        self.alarm, self.window, self.bets, self.cuts = alarm, window, np.asarray(bets), tuple(cuts)
        self.pool = ConformalPool()
        self._log = np.zeros((0, len(self.bets)))
        self._rng = random.Random(seed)

    def tick(self, score: float) -> float:
        """Add one tick's score; the statistic after it (``math.inf`` past 709 nats)."""
        p = self.pool.p_value(score, self._rng.random())
        self.pool.add(score)
        gain = sum(1.0 / c for c in self.cuts if p <= c) / len(self.cuts)
        keep = self._log[-(self.window - 1):] if self.window > 1 else self._log[:0]
        self._log = np.vstack([keep, np.zeros((1, len(self.bets)))])
        self._log += np.log1p(self.bets * (gain - 1.0))
        stat, self._log = _mixed_stat(self._log, len(self.bets), self.alarm)
        return stat


def _mixed_stat(log: np.ndarray, n_bets: int, alarm: float) -> tuple[float, np.ndarray]:
    """The CUSUM statistic over windows, mixed over the bets (``math.inf`` past 709 nats), and the
    log-wealth rows to keep (none after an alarm). (The K-controls detector, which shared this, is
    the watch's own now: ``parity.watch.EvalueDetector``.)"""
    top = float((np.logaddexp.reduce(log, axis=1) - math.log(n_bets)).max())
    stat = math.inf if top > 709.0 else math.exp(top)
    return stat, (log[:0] if stat >= alarm else log)

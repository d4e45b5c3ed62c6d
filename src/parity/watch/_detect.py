"""Sequential change detection by e-detectors, and the state of an endpoint (pure).

The detector is the e-CUSUM of Shin, Ramdas & Rinaldo ("E-detectors: a
nonparametric framework for sequential change detection", 2023): at the start
of every tick a new betting e-process (:class:`~parity.stats.BettingTest`) is
started; every observation of the tick is bet on by every process alive; the
statistic is the largest wealth among them, ``M_t = max_j K_t^(j)``.

Guarantee. Suppose that, while nothing changes, every observation ``g`` lies
in ``[-1, 1]`` and has conditional mean zero given everything observed before
it. Each ``K^(j)`` is then a non-negative supermartingale from 1, so
``R_t = Σ_j K_t^(j)`` (the e-Shiryaev-Roberts sum) satisfies
``E[R_τ] <= E[τ]`` for every stopping time ``τ`` counted in ticks — at most
one process starts per tick, and dropping processes (the window, a reset)
only lowers it. As ``M_t <= R_t``, the first tick ``τ_A`` at which
``M_t >= A`` has ``E[τ_A] >= A`` ticks (the average run length to a false
alarm), and ``P(τ_A <= N) <= N / A`` for any horizon ``N``.
Thresholds are therefore set from times: ``A`` = the ticks in the wanted
time to a false alarm.

The state machine (per endpoint and suite), with ``warn < alarm`` and
``clear = sqrt(warn)``:

* healthy → suspect when ``M_t >= warn`` (itself a detector with ARL >= warn);
* suspect → healthy when ``M_t < clear``; suspect → changed when ``M_t >= alarm``;
* healthy → changed directly when one tick crosses ``alarm``;
* at every alarm the detector is reset (all processes dropped), so that what
  follows is judged on evidence gathered after it;
* changed → recovering after ``recovery_ticks`` consecutive ticks with
  ``M_t < warn`` (the change no longer shows); an alarm while changed keeps it
  changed and resets again;
* recovering → healthy after ``recovery_ticks`` more such ticks;
  recovering → changed as soon as ``M_t >= warn`` (a warning is enough).

Recovery is absence of evidence at a power that found the change, not a test
of equivalence: ``recovery_ticks`` should exceed the detection delay of the
changes one cares about.

With ``K > 1`` reference controls per candidate request (``[watch.sentinel]
controls``), each observation is instead an e-value ``e >= 0`` with conditional
mean at most 1 (:func:`rank_evalue`), and :class:`EvalueDetector` bets on those:
each process is a mixture of products ``Π (1 − λ + λ e)``, again a non-negative
supermartingale from 1, so the same argument and the same thresholds hold.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# The online Newton step's rate, as parity.stats.BettingTest uses it.
_ONS_RATE = 2.0 / (2.0 - math.log(3.0))

__all__ = ["Detector", "EvalueDetector", "Levels", "Monitor", "State", "TickOutcome", "Transition",
           "rank_evalue"]

SCHEMA_VERSION = 1
DEFAULT_BETS: tuple[float, ...] = (0.5, 0.9)  # chosen from bench/watch.py (docs/watch.md)
CONTROL_BETS: tuple[float, ...] = (0.25, 0.5, 0.9)  # bench/watch_misroute.py's (docs/benchmarks.md)


class State(enum.StrEnum):
    HEALTHY = "healthy"
    SUSPECT = "suspect"
    CHANGED = "changed"
    RECOVERING = "recovering"


@dataclass(frozen=True)
class Levels:
    """Thresholds on the e-CUSUM statistic, in ticks of expected time to a false alarm."""

    alarm: float
    warn: float
    recovery_ticks: int
    window: int
    bets: tuple[float, ...] = DEFAULT_BETS  # the detector's constant bets (see Detector)

    def __post_init__(self) -> None:
        if not 1.0 < self.warn <= self.alarm or math.isinf(self.alarm):
            raise ValueError(f"need 1 < warn <= alarm < inf, got warn={self.warn}, alarm={self.alarm}")
        if self.recovery_ticks < 1 or self.window < 1:
            raise ValueError("recovery_ticks and window must be >= 1")

    @property
    def clear(self) -> float:
        return math.sqrt(self.warn)

    @classmethod
    def from_times(cls, *, period_s: float, arl_s: float, warn_arl_s: float,
                   recovery_s: float, window_s: float, bets: tuple[float, ...] = DEFAULT_BETS) -> Levels:
        """Levels from durations: ``alarm`` is the ticks in ``arl_s`` (so ARL >= arl_s)."""
        def ticks(seconds: float) -> int:
            return max(1, math.ceil(seconds / period_s))
        return cls(alarm=float(max(2, ticks(arl_s))), warn=float(max(2, ticks(warn_arl_s))),
                   recovery_ticks=ticks(recovery_s), window=ticks(window_s), bets=bets)


class _Processes:
    """What both detectors share: the ids of the processes in the window (one started per tick)
    and, from each process's log-wealth, the statistic and the tick behind it."""

    _ids: list[str]

    def _log_wealth(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def statistic(self) -> float:
        """``max_j K_t^(j)``; 1 before any tick (no evidence either way)."""
        if not self._ids:
            return 1.0
        top = float(np.max(self._log_wealth()))
        return math.inf if top > 709.0 else math.exp(top)

    @property
    def since(self) -> str | None:
        """The tick at which the process holding the statistic started (its evidence)."""
        if not self._ids:
            return None
        return self._ids[int(np.argmax(self._log_wealth()))]

    @property
    def started(self) -> list[str]:
        return list(self._ids)


class Detector(_Processes):
    """e-CUSUM over betting e-processes restarted each tick, keeping the latest ``window``.

    Each process bets by the online Newton step of :class:`~parity.stats.BettingTest`
    (two-sided, ``|λ| <= max_bet``), computed for every process at once (the same
    arithmetic, vectorised). With ``bets`` (constant bets ``0 < λ_i < 1``), each
    process is instead the mixture ``½ K_ONS + ½ mean_i Π_s (1 + λ_i g_s)``: an average
    of test supermartingales is one, so the guarantee is unchanged, and the constant
    bets let a process grow by up to ``ln(1 + max λ_i)`` per observation where the
    ONS bettor is held to ``ln 1.5`` — faster when a change makes ``g`` large —
    at the price of ``ln 2`` (plus ``ln len(bets)``) against a pure bettor.

    A window bounds the cost (``window`` processes per observation) and keeps
    the guarantee (dropping a process lowers ``R_t``); it limits detection to
    changes that show within ``window`` ticks.
    """

    def __init__(self, *, window: int, max_bet: float = 0.5, bets: Sequence[float] = ()) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if not 0.0 < max_bet <= 0.5:
            raise ValueError(f"max_bet must be in (0, 0.5], got {max_bet}")
        if any(not 0.0 < b < 1.0 for b in bets):
            raise ValueError(f"constant bets must lie in (0, 1), got {list(bets)}")
        self._window = window
        self._max_bet = max_bet
        self._bets = np.asarray(bets, dtype=float)
        self.reset()

    def reset(self) -> None:
        """Drop every process (after an alarm)."""
        self._ids: list[str] = []
        self._bet = np.zeros(0)
        self._z2 = np.zeros(0)
        self._ons = np.zeros(0)  # log-wealth of each process's ONS bettor
        self._const = np.zeros((0, len(self._bets)))  # log-wealth of each constant bet

    def tick(self, tick_id: str, observations: Sequence[float]) -> float:
        """Start a process, bet every observation of the tick, return the statistic."""
        gs = [float(g) for g in observations]
        if any(not -1.0 - 1e-9 <= g <= 1.0 + 1e-9 for g in gs):  # also rejects NaN
            raise ValueError(f"observations must lie in [-1, 1], got {gs}")
        cut = max(0, len(self._ids) - (self._window - 1))  # the oldest leave the window
        self._ids = [*self._ids[cut:], tick_id]
        self._bet = np.append(self._bet[cut:], 0.0)
        self._z2 = np.append(self._z2[cut:], 0.0)
        self._ons = np.append(self._ons[cut:], 0.0)
        self._const = np.vstack([self._const[cut:], np.zeros((1, len(self._bets)))])
        for g in gs:
            g = min(max(g, -1.0), 1.0)
            factor = 1.0 + self._bet * g
            self._ons += np.log(factor)
            z = g / factor
            self._z2 += z * z
            self._bet = np.clip(self._bet + _ONS_RATE * z / (1.0 + self._z2), -self._max_bet, self._max_bet)
            if len(self._bets):
                with np.errstate(divide="ignore"):
                    self._const += np.log1p(self._bets * g)
        return self.statistic

    def _log_wealth(self) -> np.ndarray:
        if not len(self._bets):
            return self._ons
        parts = np.column_stack([self._ons, self._const])
        weights = np.log(np.array([0.5] + [0.5 / len(self._bets)] * len(self._bets)))
        with np.errstate(divide="ignore"):
            out: np.ndarray = np.logaddexp.reduce(parts + weights, axis=1)
        return out


def rank_evalue(d_y: float, d_controls: Sequence[float]) -> float:
    """``(K+1)·1{D(a, y) is the largest}/#{largest}`` over the candidate's ``D(a, y)`` and the ``K``
    controls' ``D(a, x_k)`` (all distances from the same anchor ``a``).

    Validity: whenever ``y`` and the controls are exchangeable given the anchor (the candidate
    serves what the reference serves: the sentinel's null), every one of the ``K + 1`` answers is
    equally likely to be the one that came from the candidate, and the average of this e-value over
    those positions is exactly 1 (a tie for the largest splits ``K + 1`` among the tied), so its
    conditional mean is at most 1. With ties everywhere (a deterministic replica) it is exactly 1:
    nothing is lost; a candidate answer strictly farther than every control gets ``K + 1``; one that
    is not among the farthest gets 0.
    """
    if not d_controls:
        raise ValueError("the rank e-value needs at least one control")
    top = max(d_y, *d_controls)
    if d_y < top:
        return 0.0
    return (len(d_controls) + 1) / (1 + sum(d == top for d in d_controls))


class EvalueDetector(_Processes):
    """e-CUSUM over per-observation e-values, with :class:`Detector`'s interface and window.

    Each process is the mixture ``mean_λ Π_s (1 − λ + λ e_s)`` over the constant bets
    ``bets`` (``0 < λ < 1``): for ``e_s >= 0`` with conditional mean ``<= 1`` each product is a
    non-negative supermartingale from 1, and so is their average; the statistic is the largest
    process, and the guarantee of the module docstring holds with the same thresholds.
    """

    def __init__(self, *, window: int, bets: Sequence[float] = CONTROL_BETS) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if not bets or any(not 0.0 < b < 1.0 for b in bets):
            raise ValueError(f"bets must lie in (0, 1), got {list(bets)}")
        self._window = window
        self._bets = np.asarray(bets, dtype=float)
        self.reset()

    def reset(self) -> None:
        """Drop every process (after an alarm)."""
        self._ids: list[str] = []
        self._log = np.zeros((0, len(self._bets)))  # log-wealth of each process and bet

    def tick(self, tick_id: str, observations: Sequence[float]) -> float:
        """Start a process, bet every e-value of the tick, return the statistic."""
        es = [float(e) for e in observations]
        if any(not 0.0 <= e < math.inf for e in es):  # also rejects NaN
            raise ValueError(f"e-values must be finite and >= 0, got {es}")
        cut = max(0, len(self._ids) - (self._window - 1))
        self._ids = [*self._ids[cut:], tick_id]
        self._log = np.vstack([self._log[cut:], np.zeros((1, len(self._bets)))])
        gain = np.zeros(len(self._bets))
        for e in es:
            gain += np.log1p(self._bets * (e - 1.0))
        self._log += gain
        return self.statistic

    def _log_wealth(self) -> np.ndarray:
        out: np.ndarray = np.logaddexp.reduce(self._log, axis=1) - math.log(len(self._bets))
        return out


class Transition(BaseModel):
    """One change of state, with the statistic and the evidence behind it."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str = Field(description="'<endpoint>/<suite>/<seq>': unique, the key alerts are sent by.")
    endpoint: str
    suite: str
    seq: int = Field(description="1 for the first transition of this endpoint and suite.")
    from_state: State
    to_state: State
    at: datetime = Field(description="Scheduled time of the tick that caused it.")
    tick_id: str
    statistic: float = Field(description="The e-CUSUM statistic after the tick.")
    threshold: float = Field(description="The level whose crossing (or clearing) caused it.")
    alarm: float
    warn: float
    evidence_ticks: list[str] = Field(description="Ticks from the start of the leading e-process.")
    exchange_keys: list[str] = Field(description="The exchanges of the causing tick.")
    reference_state: State | None = Field(default=None, description="The reference's own state then.")
    run_id: str | None = Field(default=None, description="A scheduled suite's transition: the run behind it.")
    verdict: str | None = Field(default=None, description="A scheduled suite's transition: the run's verdict.")


@dataclass(frozen=True)
class TickOutcome:
    statistic: float
    state: State
    transition: Transition | None


@dataclass
class Monitor:
    """Detector + state machine for one endpoint and suite. Restored by replaying ticks.

    ``controls`` > 1: the observations are rank e-values (the sentinel's K-controls mode) and
    the detector is :class:`EvalueDetector`; else they are ``g`` in [-1, 1] and it is :class:`Detector`.
    """

    endpoint: str
    suite: str
    levels: Levels
    state: State = State.HEALTHY
    quiet: int = 0  # consecutive ticks below warn since the last alarm
    seq: int = 0  # transitions so far
    controls: int = 1
    detector: Detector | EvalueDetector = field(init=False)

    def __post_init__(self) -> None:
        if self.controls < 1:
            raise ValueError(f"controls must be >= 1, got {self.controls}")
        self.detector = (EvalueDetector(window=self.levels.window) if self.controls > 1
                         else Detector(window=self.levels.window, bets=self.levels.bets))

    def observe(self, tick_id: str, at: datetime, observations: Sequence[float],
                exchange_keys: Sequence[str] = (), reference_state: State | None = None) -> TickOutcome:
        stat = self.detector.tick(tick_id, observations)
        evidence = self._evidence()
        new, threshold = self._next(stat)
        if stat >= self.levels.alarm:
            self.detector.reset()
        if new is self.state:
            return TickOutcome(stat, self.state, None)
        self.seq += 1
        tr = Transition(id=f"{self.endpoint}/{self.suite}/{self.seq}", endpoint=self.endpoint,
                        suite=self.suite, seq=self.seq, from_state=self.state, to_state=new, at=at,
                        tick_id=tick_id, statistic=stat, threshold=threshold, alarm=self.levels.alarm,
                        warn=self.levels.warn, evidence_ticks=evidence,
                        exchange_keys=list(exchange_keys), reference_state=reference_state)
        self.state = new
        return TickOutcome(stat, new, tr)

    def rebuild(self, ticks: Sequence[tuple[str, Sequence[float]]]) -> None:
        """Rebuild the detector from the stored ticks (oldest first), e.g. after a restart.

        The processes alive after a tick depend only on the last ``window``
        ticks since the last alarm, so replaying those ticks — resetting where
        they alarmed — gives exactly the state that was lost.
        """
        self.detector.reset()
        for tick_id, observations in ticks[-self.levels.window:]:
            if self.detector.tick(tick_id, observations) >= self.levels.alarm:
                self.detector.reset()

    def _evidence(self) -> list[str]:
        started, since = self.detector.started, self.detector.since
        return started[started.index(since):] if since is not None else []

    def _next(self, stat: float) -> tuple[State, float]:
        """The state after a tick with statistic ``stat``, and the level that decided it."""
        lv, s = self.levels, self.state
        if stat >= lv.alarm:
            self.quiet = 0
            return State.CHANGED, lv.alarm
        if s is State.HEALTHY:
            return (State.SUSPECT, lv.warn) if stat >= lv.warn else (s, lv.warn)
        if s is State.SUSPECT:
            return (State.HEALTHY, lv.clear) if stat < lv.clear else (s, lv.clear)
        if s is State.RECOVERING and stat >= lv.warn:
            self.quiet = 0
            return State.CHANGED, lv.warn
        self.quiet = self.quiet + 1 if stat < lv.warn else 0
        if self.quiet < lv.recovery_ticks:
            return s, lv.warn
        self.quiet = 0
        return (State.RECOVERING if s is State.CHANGED else State.HEALTHY), lv.warn

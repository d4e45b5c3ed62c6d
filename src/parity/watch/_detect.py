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
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from parity.stats import BettingTest

__all__ = ["Detector", "Levels", "Monitor", "State", "TickOutcome", "Transition"]

SCHEMA_VERSION = 1


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
                   recovery_s: float, window_s: float) -> Levels:
        """Levels from durations: ``alarm`` is the ticks in ``arl_s`` (so ARL >= arl_s)."""
        def ticks(seconds: float) -> int:
            return max(1, math.ceil(seconds / period_s))
        return cls(alarm=float(max(2, ticks(arl_s))), warn=float(max(2, ticks(warn_arl_s))),
                   recovery_ticks=ticks(recovery_s), window=ticks(window_s))


class Detector:
    """e-CUSUM over betting e-processes restarted each tick, keeping the latest ``window``.

    A window bounds the cost (``window`` updates per observation) and keeps
    the guarantee (dropping a process lowers ``R_t``); it limits detection to
    changes that show within ``window`` ticks.
    """

    def __init__(self, *, window: int, max_bet: float = 0.5) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._max_bet = max_bet
        self._alive: deque[tuple[str, BettingTest]] = deque(maxlen=window)

    def tick(self, tick_id: str, observations: Sequence[float]) -> float:
        """Start a process, bet every observation of the tick, return the statistic."""
        self._alive.append((tick_id, BettingTest(max_bet=self._max_bet)))
        for g in observations:
            for _, test in self._alive:
                test.update(g)
        return self.statistic

    @property
    def statistic(self) -> float:
        """``max_j K_t^(j)``; 1 before any tick (no evidence either way)."""
        return max((t.e_value for _, t in self._alive), default=1.0)

    @property
    def since(self) -> str | None:
        """The tick at which the process holding the statistic started (its evidence)."""
        if not self._alive:
            return None
        return max(self._alive, key=lambda item: item[1].log_e_value)[0]

    @property
    def started(self) -> list[str]:
        return [tick for tick, _ in self._alive]

    def reset(self) -> None:
        self._alive.clear()


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


@dataclass(frozen=True)
class TickOutcome:
    statistic: float
    state: State
    transition: Transition | None


@dataclass
class Monitor:
    """Detector + state machine for one endpoint and suite. Restored by replaying ticks."""

    endpoint: str
    suite: str
    levels: Levels
    state: State = State.HEALTHY
    quiet: int = 0  # consecutive ticks below warn since the last alarm
    seq: int = 0  # transitions so far
    detector: Detector = field(init=False)

    def __post_init__(self) -> None:
        self.detector = Detector(window=self.levels.window)

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

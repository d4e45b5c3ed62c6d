"""A scheduled suite's verdict as the state of its endpoint and suite (pure).

A full suite decides once per run (its own test, at its own level ``alpha``),
so its state follows its verdicts, by the sentinel's state machine
(:mod:`._detect`) with each run in place of a tick:

* ``fail`` → ``changed`` (from any state; a fail while changed keeps it and
  restarts the quiet count);
* ``pass`` or ``inconclusive`` — the change no longer shows at the suite's
  level, as a sentinel tick below ``warn`` — counts as a quiet run:
  ``changed`` → ``recovering`` after ``recovery_runs`` consecutive quiet runs,
  ``recovering`` → ``healthy`` after as many more; ``recovering`` →
  ``changed`` on a fail. (Recovery is absence of evidence, not equivalence:
  a suite that passes only with many cases is often inconclusive at a watch's
  ``limit``, and must still let a fixed endpoint back.)
* ``error`` (the run could not judge: unreachable, failing) or no verdict
  leaves the state and the quiet count as they are — no evidence either way.

There is no ``suspect`` for a suite: its verdict is already a decision.

The transition's statistic is the evidence the verdict carries against
"the candidate serves what the reference serves": its e-value when the suite
reports one, else ``1 / p`` (the reciprocal of its smallest adjusted
p-value, at least 1), else 1; the threshold is ``1 / alpha``. The evidence
is the run (``run_id``), with the tick that scheduled it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from parity.verdict import Outcome, Verdict

from ._detect import State, Transition

__all__ = ["SuiteStep", "suite_statistic", "suite_step"]

_MAX = 1e300  # stored JSON has no infinity
_QUIET = (Outcome.PASS, Outcome.INCONCLUSIVE)


@dataclass(frozen=True)
class SuiteStep:
    state: State
    quiet: int
    seq: int
    statistic: float
    transition: Transition | None


def suite_statistic(v: Verdict | None) -> float:
    """The verdict's evidence as one number >= 0: its e-value, else 1/p, else 1."""
    if v is None:
        return 1.0
    if v.e_value is not None and math.isfinite(v.e_value):
        return min(max(v.e_value, 0.0), _MAX)
    if v.p_value is not None and v.p_value == v.p_value:  # not NaN
        if v.p_value <= 0.0:
            return _MAX
        return min(1.0 / v.p_value, _MAX) if v.p_value < 1.0 else 1.0
    return 1.0


def _next(state: State, quiet: int, outcome: Outcome | None, recovery_runs: int) -> tuple[State, int]:
    if outcome is Outcome.FAIL:
        return State.CHANGED, 0
    if outcome not in _QUIET:
        return state, quiet
    if state in (State.HEALTHY, State.SUSPECT):
        return State.HEALTHY, 0
    quiet += 1
    if quiet < recovery_runs:
        return state, quiet
    return (State.RECOVERING if state is State.CHANGED else State.HEALTHY), 0


def suite_step(*, endpoint: str, suite: str, state: State, quiet: int, seq: int, verdict: Verdict | None,
               recovery_runs: int, tick_id: str, at: datetime, run_id: str,
               reference_state: State | None = None) -> SuiteStep:
    """The state after one run of ``suite`` on ``endpoint`` with this (candidate's) verdict."""
    if recovery_runs < 1:
        raise ValueError("recovery_runs must be >= 1")
    outcome = verdict.verdict if verdict is not None else None
    stat = suite_statistic(verdict)
    new, quiet = _next(state, quiet, outcome, recovery_runs)
    if new is state:
        return SuiteStep(state, quiet, seq, stat, None)
    level = 1.0 / verdict.alpha if verdict is not None and verdict.alpha > 0 else 1.0
    seq += 1
    tr = Transition(id=f"{endpoint}/{suite}/{seq}", endpoint=endpoint, suite=suite, seq=seq, from_state=state,
                    to_state=new, at=at, tick_id=tick_id, statistic=stat, threshold=level, alarm=level,
                    warn=level, evidence_ticks=[tick_id], exchange_keys=[], reference_state=reference_state,
                    run_id=run_id, verdict=outcome.value if outcome is not None else None)
    return SuiteStep(new, quiet, seq, stat, tr)

"""Ejection and readmission: a sliding-window binomial test against a baseline rate.

After every failure the window's failure count k out of n is compared with
what the baseline rate p0 allows: the endpoint is ejected when
``P(X >= k | X ~ Binomial(n, p0)) < alpha`` and ``k >= min_failures``. One
failure never ejects; a burst does, and how large a burst depends on how much
traffic surrounds it. The test is re-run after each failure, so alpha is a
per-look false-alarm rate, not a family-wise one: it is a control chart with
exact binomial limits, and alpha is set small (1e-3) for that reason.

An ejected endpoint gets no traffic for its probation (doubling on relapse,
capped); then probe requests are sent to it, and ``probe_successes`` good
probes in a row readmit it with a clean window.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scipy.stats import binom

from ._config import EjectionSettings
from ._telemetry import EndpointStats, Window


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): scipy's survival function (exact, stable in the far tail)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(binom.sf(k - 1, n, p))


def out_of_range(window: Window, baseline: float, alpha: float, min_failures: int) -> float | None:
    """The tail probability when the window says 'left its normal range', else None."""
    if window.k < min_failures:
        return None
    tail = binomial_tail(window.k, window.n, baseline)
    return tail if tail < alpha else None


class State(enum.StrEnum):
    ADMITTED = "admitted"
    EJECTED = "ejected"  # waiting out probation
    PROBING = "probing"  # probation over; probes decide


@dataclass
class _Entry:
    state: State = State.ADMITTED
    until: float = 0.0
    reason: str = ""
    relapses: int = 0
    good_probes: int = 0
    remote: bool = False  # ejected by another gateway process (shared state)


class Ejector:
    """Admission state per endpoint. Time is wall-clock seconds so processes can share it."""

    def __init__(self, endpoints: list[str], settings: EjectionSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self._clock = clock
        self._entries = {name: _Entry() for name in endpoints}

    def admitted(self) -> dict[str, bool]:
        return {n: e.state is State.ADMITTED for n, e in self._entries.items()}

    def reason(self, name: str) -> str | None:
        """None if admitted, else why not (for the 503 and the docs' 'reasons')."""
        e = self._entries[name]
        if e.state is State.ADMITTED:
            return None
        if e.state is State.PROBING:
            return f"on probation after ejection ({e.reason}); {e.good_probes} good probe(s) so far"
        return f"ejected: {e.reason}; probation ends in {max(0.0, e.until - self._clock()):.0f}s"

    def evaluate(self, name: str, stats: EndpointStats) -> tuple[str, str] | None:
        """Run the tests after a failure; (signal, reason) if this ejected the endpoint."""
        e = self._entries[name]
        if e.state is not State.ADMITTED:
            return None
        s = self.settings
        for signal, window, baseline in (
            ("error_rate", stats.errors, s.baseline_error_rate),
            ("tool_call_error_rate", stats.tool_errors, s.baseline_tool_error_rate),
        ):
            tail = out_of_range(window, baseline, s.alpha, s.min_failures)
            if tail is not None:
                reason = (f"{signal} {window.k}/{window.n} vs baseline {baseline:g} "
                          f"(binomial tail p={tail:.2g} < alpha {s.alpha:g})")
                self.eject(name, reason)
                return signal, reason
        return None

    def eject(self, name: str, reason: str) -> float:
        e = self._entries[name]
        length = min(self.settings.max_probation_s, self.settings.probation_s * 2**e.relapses)
        e.state, e.until, e.reason, e.good_probes, e.remote = State.EJECTED, self._clock() + length, reason, 0, False
        e.relapses += 1
        return e.until

    def due_for_probe(self) -> list[str]:
        """Endpoints whose probation just ended: they move to PROBING (returned once)."""
        now = self._clock()
        due = []
        for name, e in self._entries.items():
            if e.state is State.EJECTED and not e.remote and now >= e.until:
                e.state = State.PROBING
                due.append(name)
        return due

    def probe_result(self, name: str, ok: bool) -> bool | None:
        """True: readmitted; False: ejected again; None: more probes needed."""
        e = self._entries[name]
        if e.state is not State.PROBING:
            return None
        if not ok:
            self.eject(name, f"probe failed after: {e.reason}")
            return False
        e.good_probes += 1
        if e.good_probes >= self.settings.probe_successes:
            e.state, e.reason = State.ADMITTED, ""
            # relapses are kept: an endpoint that keeps failing waits longer each time.
            return True
        return None

    def record(self, name: str) -> tuple[float, str]:
        """(until, reason) of an ejection, for sharing with other processes."""
        e = self._entries[name]
        return e.until, e.reason

    def probing(self, name: str) -> bool:
        return self._entries[name].state is State.PROBING

    def apply_remote(self, remote: Mapping[str, tuple[float, str]]) -> list[str]:
        """Adopt other processes' ejections; readmit what they readmitted. Returns newly ejected."""
        adopted = []
        for name, e in self._entries.items():
            rec = remote.get(name)
            if rec is not None and e.state is State.ADMITTED:
                e.state, e.until, e.reason, e.remote = State.EJECTED, rec[0], rec[1], True
                adopted.append(name)
            elif rec is None and e.remote:
                e.state, e.reason, e.remote = State.ADMITTED, "", False
        return adopted

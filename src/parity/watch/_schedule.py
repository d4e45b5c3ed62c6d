"""When ticks happen, and whether the day's budget allows them (pure; the clock is passed in).

Tick ``k`` of an endpoint's stream (the sentinel, or a full suite) is due at
``k · period + phase + jitter_k``: ``phase`` spreads endpoints over the period,
``jitter_k ∈ [-j/2, j/2) · period`` moves each tick by a hash of
``(seed, endpoint, stream, k)``. Both are deterministic, so a restarted watch
computes the same ticks, and the tick id — a hash of endpoint, stream and
scheduled time — names the same tick before and after a crash. As
``|jitter| < period / 2``, ticks stay in order.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Cost", "Tick", "Ticks", "over_budget"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _unit(*parts: object) -> float:
    """A number in [0, 1) from a hash of ``parts``."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class Tick:
    endpoint: str
    stream: str  # "sentinel" or a suite name
    index: int
    at: datetime

    @property
    def id(self) -> str:
        """Deterministic: ``w-`` and 32 hex digits of (endpoint, stream, scheduled time)."""
        key = f"{self.endpoint}\0{self.stream}\0{self.at.isoformat()}"
        return "w-" + hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def day(self) -> date:
        """The UTC day the tick's costs are charged to."""
        return self.at.astimezone(UTC).date()


@dataclass(frozen=True)
class Ticks:
    """The schedule of one endpoint's stream."""

    endpoint: str
    stream: str
    period_s: float
    jitter: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.period_s > 0 or not 0 <= self.jitter < 1:
            raise ValueError("period_s must be > 0 and jitter in [0, 1)")

    def at(self, index: int) -> Tick:
        phase = _unit("phase", self.seed, self.endpoint, self.stream)
        wobble = (_unit("jitter", self.seed, self.endpoint, self.stream, index) - 0.5) * self.jitter
        offset = (index + phase + wobble) * self.period_s
        at = _EPOCH + timedelta(microseconds=round(offset * 1e6))
        return Tick(self.endpoint, self.stream, index, at)

    def latest(self, now: datetime) -> Tick:
        """The last tick scheduled at or before ``now``."""
        k = math.floor((now - _EPOCH).total_seconds() / self.period_s) + 2
        while self.at(k).at > now:
            k -= 1
        return self.at(k)

    def after(self, now: datetime) -> Tick:
        """The first tick scheduled strictly after ``now``."""
        return self.at(self.latest(now).index + 1)

    def between(self, start: datetime, end: datetime) -> list[Tick]:
        """Ticks with ``start < at <= end``, in order (for replays on a simulated clock)."""
        out: list[Tick] = []
        tick = self.after(start)
        while tick.at <= end:
            out.append(tick)
            tick = self.at(tick.index + 1)
        return out


@dataclass(frozen=True)
class Cost:
    requests: int = 0
    tokens: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.requests + other.requests, self.tokens + other.tokens)


def over_budget(spent: Cost, planned: Cost, requests_per_day: int, tokens_per_day: int) -> str | None:
    """Why ``planned`` on top of the day's ``spent`` would pass a limit; None if it fits.

    Tokens of a tick are known only afterwards, so ``planned.tokens`` is an
    estimate (from earlier ticks); the check keeps the day within the limit
    as long as the estimate holds, and what was really spent is recorded.
    """
    if spent.requests + planned.requests > requests_per_day:
        return (f"requests: {spent.requests} spent + {planned.requests} planned "
                f"> {requests_per_day} per day")
    if spent.tokens + planned.tokens > tokens_per_day:
        return f"tokens: {spent.tokens} spent + ~{planned.tokens} planned > {tokens_per_day} per day"
    return None

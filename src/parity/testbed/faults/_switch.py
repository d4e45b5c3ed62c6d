"""The testbed learns to change: switch the upstream at a time, or misroute a share of requests.

* ``switch``: from a set time (or after the N-th chat request) every request
  goes to another upstream (replica → q4_0, → a wrong template) and/or has its
  sampling overridden by the server's defaults; optionally until a set time,
  when the proxy switches back (so recovery can be measured too).
* ``misroute``: during a window, a share of the requests goes to another
  upstream — what a load-balancer change does to a provider's traffic. Which
  requests is drawn from a hash of the body, so a re-sent request meets the
  same fate (and the choice is independent of the fault draw).

Pure: :class:`Router` decides per request from its count and a clock passed
in; the proxy only follows its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MisrouteSpec", "Route", "Router", "SwitchSpec"]

Clock = Callable[[], datetime]


class SwitchSpec(BaseModel):
    """Switch every request, from ``at`` (or after ``after_requests``) until ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream: str | None = Field(default=None, description="Switch to this base URL (None: same).")
    sampling_override: bool = Field(default=False, description="Impose the server's sampling.")
    at: datetime | None = Field(default=None, description="From this time (timezone-aware).")
    after_requests: int | None = Field(default=None, ge=0, description="After this many requests.")
    until: datetime | None = Field(default=None, description="Switch back at this time.")

    @model_validator(mode="after")
    def _check(self) -> SwitchSpec:
        if (self.at is None) == (self.after_requests is None):
            raise ValueError("a switch needs exactly one of `at` and `after_requests`")
        if self.upstream is None and not self.sampling_override:
            raise ValueError("a switch changes the upstream, the sampling, or both")
        for t in (self.at, self.until):
            if t is not None and t.tzinfo is None:
                raise ValueError("switch times must carry a timezone")
        if self.at is not None and self.until is not None and self.until <= self.at:
            raise ValueError("`until` must come after `at`")
        return self

    def active(self, now: datetime, n: int) -> bool:
        """Whether request number ``n`` (0-based), arriving at ``now``, is switched."""
        started = (now >= self.at) if self.at is not None else n >= (self.after_requests or 0)
        return started and (self.until is None or now < self.until)


class MisrouteSpec(BaseModel):
    """Send ``share`` of the requests to ``upstream`` between ``start`` and ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream: str = Field(min_length=1)
    share: float = Field(gt=0.0, le=1.0)
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> MisrouteSpec:
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is None:
                raise ValueError("misroute times must carry a timezone")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must come after `start`")
        return self

    def takes(self, now: datetime, digest: bytes) -> bool:
        if (self.start is not None and now < self.start) or (self.end is not None and now >= self.end):
            return False
        draw = int.from_bytes(digest[8:16], "big") / 2.0**64  # bytes 0-8 draw the fault
        return draw < self.share


@dataclass(frozen=True)
class Route:
    upstream: str
    override_sampling: bool = False
    label: str | None = None  # "switch" or "misroute", for the annotation header and logs


class Router:
    """Decides each chat request's upstream; counts requests (one proxy, one process)."""

    def __init__(self, upstream: str, switch: SwitchSpec | None = None,
                 misroute: MisrouteSpec | None = None, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.upstream = upstream.rstrip("/")
        self.switch = switch
        self.misroute = misroute
        self._clock = clock
        self.requests = 0

    def route(self, digest: bytes) -> Route:
        n, now = self.requests, self._clock()
        self.requests += 1
        if self.switch is not None and self.switch.active(now, n):
            target = (self.switch.upstream or self.upstream).rstrip("/")
            return Route(target, self.switch.sampling_override, "switch")
        if self.misroute is not None and self.misroute.takes(now, digest):
            return Route(self.misroute.upstream.rstrip("/"), False, "misroute")
        return Route(self.upstream)

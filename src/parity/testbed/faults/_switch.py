"""The testbed learns to change: switch the upstream at a time, or misroute a share of requests.

* ``switch``: from a time every request goes to another upstream (replica →
  q4_0, → a wrong template) and/or has its sampling overridden by the server's
  defaults; optionally until a later time, when the proxy switches back (so
  recovery can be measured too). The time is absolute (``at``), after the
  proxy starts (``after_s``), drawn at random in a window after it starts
  (``random_s``, from ``seed``), after the N-th chat request
  (``after_requests``), or ``manual``: only when told (``/admin/switch``).
* ``misroute``: during a window, a share of the requests goes to another
  upstream — what a load-balancer change does to a provider's traffic. Which
  requests is drawn from a hash of the body, so a re-sent request meets the
  same fate (and the choice is independent of the fault draw).

At run time ``Router.force`` turns either on or off now, or back to its
schedule (the proxy's 127.0.0.1-only ``POST /admin/switch`` and
``/admin/misroute``), so tests can undo a switch without restarting anything.

Flags (``parity testbed up --switch/--misroute``, ``parity testbed proxy``)::

    TARGET[+sampling][@WHEN]          switch; TARGET a variant name or a URL, or `sampling` alone
    TARGET:SHARE[@WHEN]               misroute SHARE (0-1] of the requests to TARGET
    WHEN = +60s | +5m..+20m | random:1m-10m | after:100 | manual | 2026-11-29T18:00:00Z[..END]

Pure: :class:`Router` decides per request from its count and a clock passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MisrouteSpec", "Route", "Router", "SwitchSpec", "flag_target", "parse_misroute", "parse_switch"]

Clock = Callable[[], datetime]
Force = Literal["on", "off", "auto"]
SAMPLING = "sampling"


class SwitchSpec(BaseModel):
    """Switch every request from a time (exactly one way of saying when) until ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream: str | None = Field(default=None, description="Switch to this base URL (None: same).")
    sampling_override: bool = Field(default=False, description="Impose the server's sampling.")
    at: datetime | None = Field(default=None, description="From this time (timezone-aware).")
    after_s: float | None = Field(default=None, ge=0, description="From this many seconds after the proxy starts.")
    random_s: tuple[float, float] | None = Field(
        default=None, description="From a time drawn uniformly this many seconds after the start (from `seed`).")
    after_requests: int | None = Field(default=None, ge=0, description="After this many requests.")
    manual: bool = Field(default=False, description="Only when switched at run time (/admin/switch).")
    until: datetime | None = Field(default=None, description="Switch back at this time.")
    until_s: float | None = Field(default=None, gt=0, description="Switch back this many seconds after the start.")
    seed: int = Field(default=0, description="Draws the time of a random switch.")

    @model_validator(mode="after")
    def _check(self) -> SwitchSpec:
        ways = [self.at, self.after_s, self.random_s, self.after_requests]
        if sum(w is not None for w in ways) + self.manual != 1:
            raise ValueError("a switch needs exactly one of `at`, `after_s`, `random_s`, `after_requests`, `manual`")
        if self.upstream is None and not self.sampling_override:
            raise ValueError("a switch changes the upstream, the sampling, or both")
        for t in (self.at, self.until):
            if t is not None and t.tzinfo is None:
                raise ValueError("switch times must carry a timezone")
        if self.until is not None and self.until_s is not None:
            raise ValueError("give `until` or `until_s`, not both")
        if self.at is not None and self.until is not None and self.until <= self.at:
            raise ValueError("`until` must come after `at`")
        if self.random_s is not None and not 0 <= self.random_s[0] <= self.random_s[1]:
            raise ValueError("`random_s` is a window (low, high) with 0 <= low <= high")
        start = self.after_s if self.after_s is not None else (self.random_s[1] if self.random_s else None)
        if start is not None and self.until_s is not None and self.until_s <= start:
            raise ValueError("`until_s` must come after the switch")
        return self

    def resolve(self, started: datetime) -> tuple[datetime | None, datetime | None]:
        """``(from, until)`` as times, for a proxy started at ``started`` (from None: by count or manual)."""
        at = self.at
        if self.after_s is not None:
            at = started + timedelta(seconds=self.after_s)
        elif self.random_s is not None:
            lo, hi = self.random_s
            u = int.from_bytes(hashlib.sha256(f"switch/{self.seed}".encode()).digest()[:8], "big") / 2.0**64
            at = started + timedelta(seconds=lo + u * (hi - lo))
        until = self.until if self.until_s is None else started + timedelta(seconds=self.until_s)
        return at, until

    def active(self, now: datetime, n: int) -> bool:
        """Whether request number ``n`` (0-based) at ``now`` is switched, for a proxy started at ``now``
        (exact for absolute and count switches; :class:`Router` keeps the real start)."""
        start, until = self.resolve(now)
        if self.manual or (self.after_requests is not None and n < self.after_requests):
            return False
        return _within(now, start, until)


class MisrouteSpec(BaseModel):
    """Send ``share`` of the requests to ``upstream`` during a window (absolute or after the start)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream: str = Field(min_length=1)
    share: float = Field(gt=0.0, le=1.0)
    start: datetime | None = None
    end: datetime | None = None
    start_s: float | None = Field(default=None, ge=0, description="Seconds after the proxy starts.")
    end_s: float | None = Field(default=None, gt=0, description="Seconds after the proxy starts.")
    manual: bool = Field(default=False, description="Only when turned on at run time (/admin/misroute).")

    @model_validator(mode="after")
    def _check(self) -> MisrouteSpec:
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is None:
                raise ValueError("misroute times must carry a timezone")
        if (self.start is not None and self.start_s is not None) or (self.end is not None and self.end_s is not None):
            raise ValueError("give each end of the window as a time or in seconds, not both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must come after `start`")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("`end_s` must come after `start_s`")
        return self

    def resolve(self, started: datetime) -> tuple[datetime | None, datetime | None]:
        start = self.start if self.start_s is None else started + timedelta(seconds=self.start_s)
        end = self.end if self.end_s is None else started + timedelta(seconds=self.end_s)
        return start, end

    def draws(self, digest: bytes) -> bool:
        """Whether a request (by its digest) is among the ``share`` misrouted, window aside."""
        draw = int.from_bytes(digest[8:16], "big") / 2.0**64  # bytes 0-8 draw the fault
        return draw < self.share

    def takes(self, now: datetime, digest: bytes) -> bool:
        """Absolute windows only (relative ones need the start: :class:`Router`)."""
        return not self.manual and _within(now, self.start, self.end) and self.draws(digest)


@dataclass(frozen=True)
class Route:
    upstream: str
    override_sampling: bool = False
    label: str | None = None  # "switch" or "misroute", for the annotation header and logs


def _within(now: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or now >= start) and (end is None or now < end)


class Router:
    """Decides each chat request's upstream; counts requests (one proxy, one process)."""

    def __init__(self, upstream: str, switch: SwitchSpec | None = None,
                 misroute: MisrouteSpec | None = None, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.upstream = upstream.rstrip("/")
        self.switch = switch
        self.misroute = misroute
        self._clock = clock
        self.started = clock()
        self.requests = 0
        self.switched = 0  # requests sent by the switch, and by the misroute
        self.misrouted = 0
        self._switch_window = switch.resolve(self.started) if switch else (None, None)
        self._misroute_window = misroute.resolve(self.started) if misroute else (None, None)
        self._force: dict[str, Force] = {"switch": "auto", "misroute": "auto"}

    def force(self, which: Literal["switch", "misroute"], how: Force) -> None:
        """``on``/``off`` now, whatever the schedule says; ``auto``: back to the schedule."""
        if (self.switch if which == "switch" else self.misroute) is None:
            raise ValueError(f"this proxy has no {which} configured")
        self._force[which] = how

    def _switch_active(self, now: datetime, n: int) -> bool:
        s = self.switch
        if s is None or self._force["switch"] == "off":
            return False
        if self._force["switch"] == "on":
            return True
        start, until = self._switch_window
        if s.manual or (s.after_requests is not None and n < s.after_requests):
            return False
        return _within(now, start, until)

    def _misroute_active(self, now: datetime) -> bool:
        m = self.misroute
        if m is None or self._force["misroute"] == "off":
            return False
        return self._force["misroute"] == "on" or (not m.manual and _within(now, *self._misroute_window))

    def route(self, digest: bytes) -> Route:
        n, now = self.requests, self._clock()
        self.requests += 1
        if self.switch is not None and self._switch_active(now, n):
            self.switched += 1
            target = (self.switch.upstream or self.upstream).rstrip("/")
            return Route(target, self.switch.sampling_override, "switch")
        if self.misroute is not None and self._misroute_active(now) and self.misroute.draws(digest):
            self.misrouted += 1
            return Route(self.misroute.upstream.rstrip("/"), False, "misroute")
        return Route(self.upstream)

    def describe(self) -> dict[str, Any]:
        """What the proxy does now and when it will change (GET /admin/state)."""
        now = self._clock()

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        out: dict[str, Any] = {"started": iso(self.started), "requests": self.requests}
        if self.switch is not None:
            start, until = self._switch_window
            out["switch"] = {"active": self._switch_active(now, self.requests), "force": self._force["switch"],
                             "from": iso(start), "until": iso(until), "requests": self.switched,
                             "upstream": self.switch.upstream, "sampling_override": self.switch.sampling_override}
        if self.misroute is not None:
            start, end = self._misroute_window
            out["misroute"] = {"active": self._misroute_active(now), "force": self._force["misroute"],
                               "from": iso(start), "until": iso(end), "requests": self.misrouted,
                               "upstream": self.misroute.upstream, "share": self.misroute.share}
        return out


# flags -------------------------------------------------------------------------------------
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _seconds(text: str, flag: str) -> float:
    m = _DURATION.match(text.strip())
    if m is None:
        raise ValueError(f"{flag!r}: {text!r} is not a duration (e.g. 90s, 5m, 1h)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _time(text: str, flag: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{flag!r}: {text!r} is neither +DURATION nor an ISO time") from None
    if t.tzinfo is None:
        raise ValueError(f"{flag!r}: the time {text!r} needs a timezone (e.g. a trailing Z)")
    return t


def _when(text: str, flag: str, misroute: bool) -> dict[str, Any]:
    """The timing fields of a spec from the part after ``@`` (see the module's docstring)."""
    if text == "manual":
        return {"manual": True}
    if text.startswith("after:") and not misroute:
        try:
            return {"after_requests": int(text[6:])}
        except ValueError:
            raise ValueError(f"{flag!r}: after:N takes a number of requests") from None
    if text.startswith("random:") and not misroute:
        lo, sep, hi = text[7:].partition("-")
        if not sep:
            raise ValueError(f"{flag!r}: random:LOW-HIGH, e.g. random:1m-10m")
        return {"random_s": (_seconds(lo, flag), _seconds(hi, flag))}
    start, _, end = text.partition("..")
    out: dict[str, Any] = {}
    keys = ("start_s", "end_s", "start", "end") if misroute else ("after_s", "until_s", "at", "until")
    for part, rel, absolute in ((start, keys[0], keys[2]), (end, keys[1], keys[3])):
        if not part:
            continue
        if part.startswith("+"):
            out[rel] = _seconds(part[1:], flag)
        else:
            out[absolute] = _time(part, flag)
    return out


def flag_target(flag: str, *, misroute: bool = False) -> str | None:
    """The upstream a flag names (a variant name or a URL), or None for a sampling-only switch."""
    head = flag.partition("@")[0]
    target = head.rpartition(":")[0] if misroute else head.removesuffix("+" + SAMPLING)
    return None if target == SAMPLING else target


def parse_switch(flag: str, resolve: Callable[[str], str] = lambda t: t, seed: int = 0) -> SwitchSpec:
    """``TARGET[+sampling][@WHEN]`` to a spec; ``resolve`` turns a variant name into a URL.
    Without ``@WHEN`` the switch is immediate (``after_s`` 0)."""
    head, _, when = flag.partition("@")
    sampling = head == SAMPLING or head.endswith("+" + SAMPLING)
    target = flag_target(flag)
    timing = _when(when, flag, misroute=False) if when else {"after_s": 0.0}
    if "random_s" in timing:
        timing["seed"] = seed
    return SwitchSpec(upstream=resolve(target) if target else None, sampling_override=sampling, **timing)


def parse_misroute(flag: str, resolve: Callable[[str], str] = lambda t: t) -> MisrouteSpec:
    """``TARGET:SHARE[@WHEN]`` to a spec (without ``@WHEN``: from the start, for good)."""
    head, _, when = flag.partition("@")
    target, sep, share = head.rpartition(":")
    if not sep or not target:
        raise ValueError(f"{flag!r}: a misroute is TARGET:SHARE[@WHEN], e.g. q4_0:0.1@+1m..+11m")
    try:
        value = float(share)
    except ValueError:
        raise ValueError(f"{flag!r}: the share {share!r} is not a number") from None
    return MisrouteSpec(upstream=resolve(target), share=value, **(_when(when, flag, misroute=True) if when else {}))

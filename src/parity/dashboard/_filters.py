"""What a page shows, from its URL query: a time range and endpoints (pure, validated).

Everything here comes from the URL and is untrusted: bounded, parsed strictly,
and a bad value is a ``FilterError`` (a 400 page), never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

__all__ = ["RANGES", "FilterError", "Filters", "parse_filters"]

RANGES: dict[str, timedelta] = {
    "1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90),
}
DEFAULT_RANGE = "7d"
MAX_SPAN = timedelta(days=366)
MAX_ENDPOINTS = 12
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class FilterError(ValueError):
    """A query parameter the dashboard cannot use; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    start: datetime
    end: datetime
    range: str  # one of RANGES, or "custom" when from/to were given
    endpoints: tuple[str, ...]
    model: str | None

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def query(self, **override: str | Sequence[str] | None) -> str:
        """This view's query string, with some parameters replaced (for links that keep the rest)."""
        params: dict[str, str | Sequence[str] | None] = {"endpoint": list(self.endpoints), "model": self.model}
        if self.range == "custom" and "range" not in override:
            params["from"] = self.start.strftime("%Y-%m-%dT%H:%M")
            params["to"] = self.end.strftime("%Y-%m-%dT%H:%M")
        else:
            params["range"] = self.range
        params.update(override)
        pairs: list[tuple[str, str]] = []
        for k, v in params.items():
            if v is None or v == "":
                continue
            pairs.extend((k, x) for x in ([v] if isinstance(v, str) else v))
        return urlencode(pairs)


def _time(name: str, value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value[:40])
    except ValueError:
        raise FilterError(f"{name}: not a date or time (use e.g. 2026-11-01 or 2026-11-01T12:00)") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _names(values: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        for name in v.split(","):
            name = name.strip()
            if not name:
                continue
            if not _NAME.match(name):
                raise FilterError("endpoint: names are 1-128 characters of A-Z a-z 0-9 _ . : -")
            if name not in out:
                out.append(name)
    if len(out) > MAX_ENDPOINTS:
        raise FilterError(f"endpoint: at most {MAX_ENDPOINTS} endpoints at a time")
    return tuple(out)


def parse_filters(query: Mapping[str, Sequence[str]], now: datetime) -> Filters:
    """``range=7d`` or ``from=…&to=…``; ``endpoint=a&endpoint=b`` (or ``a,b``); ``model=…``."""
    def one(name: str) -> str | None:
        values = query.get(name) or []
        return values[-1] if values else None

    endpoints = _names(query.get("endpoint") or [])
    model = one("model") or None
    if model is not None and (len(model) > 256 or any(ord(c) < 32 for c in model)):
        raise FilterError("model: at most 256 printable characters")
    start_s, end_s, range_s = one("from"), one("to"), one("range")
    if start_s or end_s:
        end = _time("to", end_s) if end_s else now
        start = _time("from", start_s) if start_s else end - RANGES[DEFAULT_RANGE]
        if start >= end:
            raise FilterError("from must be before to")
        if end - start > MAX_SPAN:
            raise FilterError(f"the time range is at most {MAX_SPAN.days} days")
        return Filters(start, end, "custom", endpoints, model)
    key = range_s or DEFAULT_RANGE
    if key not in RANGES:
        raise FilterError(f"range: one of {', '.join(RANGES)}")
    return Filters(now - RANGES[key], now, key, endpoints, model)

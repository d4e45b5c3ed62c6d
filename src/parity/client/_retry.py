from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# No server's Retry-After is taken past a day: 'inf', '1e400' and year-9999 dates are a day.
MAX_RETRY_AFTER_S = 86_400.0
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})


@dataclass
class RetryPolicy:
    """The one retry policy: which failures are retried, and how long to wait.

    Exponential backoff with full jitter, capped; a server's ``Retry-After`` is
    honoured (never waited for less, capped at ``max_retry_after_s`` so a
    hostile value cannot park a run for an hour).
    """

    max_attempts: int = 4
    # A request that never reached the server (a kept-alive connection it had closed while
    # idle: StaleConnection) is sent again at once on a fresh connection, up to this many
    # times, outside max_attempts but counted in Reply.attempts: reusing connections must not
    # turn a server's idle timeout into an error, nor hide a request that was sent.
    stale_resends: int = 1
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0
    retry_timeouts: bool = True
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def retryable_status(self, status: int) -> bool:
        return status in RETRYABLE_STATUS

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        backoff = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        wait = self.rng.uniform(0.0, backoff)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_retry_after_s))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or junk.
    Always finite, in [0, MAX_RETRY_AFTER_S]; callers cap it further by their own policy."""
    if not value:
        return None
    value = value.strip()
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _from_date(value, now)
    if seconds is None:
        return None
    if math.isnan(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def _from_date(value: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return (when - now).total_seconds()

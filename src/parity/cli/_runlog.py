"""``parity verify --log-format``: the run as structured events (one per line, on stderr).

``run.start``, one ``exchange.failed`` per request that was not answered well
(warning), one ``verdict`` per endpoint and suite, and ``run.end`` with the exit
code. Values pass through the store's redactor: no key or header value is written.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping

from parity.exchange import Exchange
from parity.logs import FORMATS, RUN_LOGGER, EventLog, configure_logging
from parity.store import RunRecord
from parity.verdict import Verdict

from ._common import fail

__all__ = ["RunLog"]


class RunLog:
    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        self.log = EventLog(redact, logger=RUN_LOGGER)

    @staticmethod
    def setup(fmt: str | None, level: str) -> None:
        """Called by the command before anything runs; ``fmt`` None: no events."""
        if fmt is None:
            return
        if fmt not in FORMATS or level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise fail(f"--log-format: one of {', '.join(FORMATS)}; --log-level: debug, info, warning, error")
        configure_logging(fmt, level)

    def start(self, run: RunRecord, resumed: bool, store: str, already: int) -> None:
        self.log.emit("run.start", run=run.id, resumed=resumed, suites=list(run.suites),
                      reference=run.reference, store=store, stored_exchanges=already)

    def exchange(self, x: Exchange, kind: str) -> None:
        self.log.emit("exchange.failed", logging.WARNING, endpoint=x.endpoint, suite=x.suite, case=x.case_id,
                      repeat=x.repeat, kind=kind, status=x.status.value, http_status=x.http_status,
                      error=x.error)

    def end(self, run: RunRecord, verdicts: list[Verdict], code: int,
            failures: Mapping[tuple[str, str], Mapping[str, int]]) -> None:
        for v in verdicts:
            self.log.emit("verdict", logging.INFO, endpoint=v.endpoint, suite=v.suite, verdict=v.verdict.value,
                          test=v.test, p_value=v.p_value, e_value=v.e_value, alpha=v.alpha,
                          requests=v.requests, reason=v.reasons[0] if v.reasons else None)
        totals: Counter[str] = Counter()
        for kinds in failures.values():
            totals.update(kinds)
        self.log.emit("run.end", run=run.id, exit_code=code,
                      outcomes=dict(Counter(v.verdict.value for v in verdicts)),
                      transport_errors=totals["transport"], invalid_answers=totals["invalid"])

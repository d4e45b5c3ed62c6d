"""Run progress in the terminal: one bar per endpoint and suite, an ETA, failures by kind.

Rendered on stderr (stdout stays free for ``--json -``). Endpoint and suite
names are escaped: a name in brackets is text, not Rich markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from parity.checks._schema import SchemaCache
from parity.checks.toolcall import ERROR_CLASSES, check_tool_calls
from parity.exchange import Exchange, ExchangeStatus
from parity.reachability import transport_failure

from ._common import console as _stderr

__all__ = ["RichProgress", "failure_kind"]

def failure_kind(x: Exchange, schemas: SchemaCache) -> str | None:
    """``transport`` (not served), ``invalid`` (served, but not a valid answer) or None."""
    if transport_failure(x) is not None:
        return "transport"
    if x.status in (ExchangeStatus.INVALID_BODY, ExchangeStatus.STREAM_ERROR, ExchangeStatus.HTTP_ERROR):
        return "invalid"
    if x.completion is not None and x.completion.tool_calls:
        tools = x.request.get("tools") or []
        findings = check_tool_calls(tools if isinstance(tools, list) else [], x.completion, schemas)
        if any(f.check in ERROR_CLASSES for f in findings):
            return "invalid"
    return None


def _fmt(kinds: Counter[str]) -> str:
    return f"{kinds['transport']} transport errors, {kinds['invalid']} invalid answers"


class RichProgress:
    """Runner progress: a bar per (endpoint, suite); totals grow if a suite sends follow-ups."""

    def __init__(self, progress: Progress, on_failure: Callable[[Exchange, str], None] | None = None) -> None:
        self._p = progress
        self._on_failure = on_failure
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._kinds: dict[tuple[str, str], Counter[str]] = {}
        self._schemas = SchemaCache()

    @staticmethod
    def make(console: Console | None = None) -> Progress:
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[failures]}"), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), console=console or _stderr)

    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None:
        # Suites run one after another per endpoint: the one before this is finished.
        self._settle(lambda k: k[0] == endpoint)
        key = (endpoint, suite)
        self._kinds[key] = Counter()
        self._tasks[key] = self._p.add_task(escape(f"{endpoint} · {suite}"), total=total, completed=done,
                                            failures=_fmt(self._kinds[key]))

    def advance(self, endpoint: str, exchange: Exchange) -> None:
        key = (endpoint, exchange.suite)
        if key not in self._tasks:
            self.planned(endpoint, exchange.suite, None, 0)
        task, kinds = self._tasks[key], self._kinds[key]
        kind = failure_kind(exchange, self._schemas)
        if kind is not None:
            kinds[kind] += 1
            if self._on_failure is not None:
                self._on_failure(exchange, kind)
        t = self._p.tasks[task]
        total = t.total if t.total is None else max(t.total, t.completed + 1)
        self._p.update(task, advance=1, total=total, failures=_fmt(kinds))

    def finish(self) -> None:
        """The run is over: every bar ends at what was actually sent (plans may overestimate)."""
        self._settle(lambda _k: True)

    def _settle(self, which: Callable[[tuple[str, str]], bool]) -> None:
        for key, task in self._tasks.items():
            if which(key):
                done = self._p.tasks[task].completed
                self._p.update(task, total=done, completed=done)

    def failures(self) -> dict[tuple[str, str], dict[str, int]]:
        """Failures by kind per (endpoint, suite), as counted so far."""
        return {k: dict(v) for k, v in self._kinds.items()}

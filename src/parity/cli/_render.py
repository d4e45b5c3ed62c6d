"""Terminal rendering: a progress bar per endpoint and the verdict table."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from parity.exchange import Exchange
from parity.verdict import Outcome, Verdict

COLOURS = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.INCONCLUSIVE: "yellow",
           Outcome.REFERENCE: "cyan"}
KEY_METRICS = ("trigger_f1", "toolcall_error_rate", "propensity", "k2vv_similarity")


class RichProgress:
    """Runner progress as one bar per endpoint (totals summed over suites)."""

    def __init__(self, progress: Progress) -> None:
        self._p = progress
        self._tasks: dict[str, TaskID] = {}
        self._errors: dict[str, int] = {}

    @staticmethod
    def make() -> Progress:
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[errors]} failed"), TimeElapsedColumn())

    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None:
        if endpoint not in self._tasks:
            self._tasks[endpoint] = self._p.add_task(endpoint, total=0, errors=0)
        task = self._tasks[endpoint]
        current = self._p.tasks[task].total or 0
        self._p.update(task, total=current + (total or 0), advance=done,
                       description=f"{endpoint} [{suite}]")

    def advance(self, endpoint: str, exchange: Exchange) -> None:
        if not exchange.ok:
            self._errors[endpoint] = self._errors.get(endpoint, 0) + 1
        self._p.update(self._tasks[endpoint], advance=1, errors=self._errors.get(endpoint, 0))


def verdict_table(verdicts: list[Verdict]) -> Table:
    t = Table(title="parity verdicts", show_lines=False)
    for col in ("endpoint", "suite", "verdict", "p (Holm)", "alpha", "requests", "key figures (95% CI, n)",
                "failing checks"):
        t.add_column(col)
    for v in verdicts:
        colour = COLOURS[v.verdict]
        figures = "; ".join(f"{k}={v.metrics[k].fmt()}" for k in KEY_METRICS if k in v.metrics)
        if v.probes:
            counts: dict[str, int] = {}
            for p in v.probes:
                counts[p.outcome.value] = counts.get(p.outcome.value, 0) + 1
            figures = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ("; " + figures if figures else "")
        t.add_row(v.endpoint, v.suite, f"[{colour}]{v.verdict.value}[/]",
                  "-" if v.p_value is None else f"{v.p_value:.3g}", f"{v.alpha:g}", str(v.requests),
                  figures, ", ".join(v.failing_checks[:4]) or "-")
    return t

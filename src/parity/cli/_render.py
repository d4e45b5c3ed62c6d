"""Terminal rendering: the verdict table (progress bars live in ``_progress``)."""

from __future__ import annotations

from rich.table import Table

from parity.verdict import Outcome, Verdict

from ._progress import RichProgress

__all__ = ["COLOURS", "RichProgress", "verdict_table"]

COLOURS = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.INCONCLUSIVE: "yellow",
           Outcome.REFERENCE: "cyan", Outcome.ERROR: "magenta"}
KEY_METRICS = ("trigger_f1", "toolcall_error_rate", "propensity", "k2vv_similarity")


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
            figures = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items())) + (
                "; " + figures if figures else "")
        t.add_row(v.endpoint, v.suite, f"[{colour}]{v.verdict.value}[/]",
                  "-" if v.p_value is None else f"{v.p_value:.3g}", f"{v.alpha:g}", str(v.requests),
                  figures, ", ".join(v.failing_checks[:4]) or "-")
    return t

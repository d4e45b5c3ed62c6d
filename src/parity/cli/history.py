"""``parity history``: the watch's ticks, the suite runs and the transitions kept in the store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import fail, open_store


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"


def _mean(v: float | None, label: str) -> str:
    return "-" if v is None else f"{escape(label)} {_fmt(v)}"


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def history(
    endpoint: str = typer.Argument(None, help="Only this endpoint (default: every endpoint)."),
    suite: str = typer.Option(None, "--suite", "-s", help="Only this stream or suite "
                              "(sentinel, sentinel-reference, toolcall, ...)."),
    metric: list[str] = typer.Option(None, "--metric", "-m", help="Only these metrics in the trends "
                                     "(statistic, mean_observation, requests, tokens, or a verdict's metric)."),
    since: str = typer.Option("7d", "--since", help="How far back: 30m, 12h, 7d, 2w or an ISO date."),
    limit: int = typer.Option(20, "--limit", "-n", min=0, help="Newest ticks and runs listed (0: all)."),
    db: str = typer.Option(None, "--db", help="Store: a SQLite path or a database URL."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON (no limit)."),
) -> None:
    """Print the history: trends per endpoint and metric, transitions, the newest ticks and runs."""
    from parity.watch._history import load_history, parse_since, series, sparkline

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    store = open_store(db, create=False)
    try:
        hist = load_history(store, endpoint=endpoint, suite=suite, since=start)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(hist.model_dump_json(indent=2) + "\n")
        return
    out = Console(width=None if sys.stdout.isatty() else 200, highlight=False, soft_wrap=False)
    what = f"{escape(endpoint or 'every endpoint')} · {escape(suite or 'every stream and suite')}"
    out.print(f"history since {_when(start)} UTC · {what}")
    if not (hist.ticks or hist.runs or hist.transitions):
        out.print("nothing stored for these filters")
        return

    trends = Table(title="trends (oldest → newest)")
    for col in ("endpoint", "stream / suite", "metric", "n", "last", "min", "max", "state", "trend"):
        trends.add_column(col, no_wrap=col == "trend")
    for s in series(hist, metric):
        vs = s.values
        log = s.metric in ("statistic", "e_value")
        line = sparkline(vs, log=log, how="max" if log else "mean")
        state = (s.state.value if s.state else "-") + (f" ({s.skipped} skipped)" if s.skipped else "")
        trends.add_row(escape(s.endpoint), escape(s.stream), escape(s.label) + (" (log)" if log else ""),
                       str(len(vs)), _fmt(vs[-1]), _fmt(min(vs)), _fmt(max(vs)),
                       state if s.kind == "tick" else "-", line)
    out.print(trends)

    if hist.transitions:
        tr = Table(title="transitions")
        for col in ("at", "endpoint", "stream", "from → to", "statistic", "threshold", "reference", "id"):
            tr.add_column(col)
        for x in hist.transitions:
            tr.add_row(_when(x.at), escape(x.endpoint), escape(x.suite),
                       f"{x.from_state.value} → {x.to_state.value}", _fmt(x.statistic), _fmt(x.threshold),
                       x.reference_state.value if x.reference_state else "-", escape(x.id))
        out.print(tr)

    ticks = hist.ticks[-limit:] if limit else hist.ticks
    if ticks:
        from parity.watch._history import observation_label, tick_metrics

        tt = Table(title=f"ticks ({len(ticks)} newest of {len(hist.ticks)})")
        for col in ("scheduled", "endpoint", "stream", "status", "state", "statistic", "mean observation",
                    "requests", "tick / reason"):
            tt.add_column(col)
        for t in ticks:
            m = tick_metrics(t)
            tt.add_row(_when(t.scheduled_at), escape(t.endpoint), escape(t.stream), t.status,
                       t.state.value if t.state else "-", _fmt(m["statistic"]), _mean(m["mean_observation"],
                                                                                     observation_label(t.controls)),
                       _fmt(m["requests"]), escape(t.reason or t.id))
        out.print(tt)

    runs = hist.runs[-limit:] if limit else hist.runs
    if runs:
        rt = Table(title=f"suite runs ({len(runs)} newest of {len(hist.runs)})")
        for col in ("at", "run", "endpoint", "suite", "verdict", "e-value", "p-value", "requests", "metrics"):
            rt.add_column(col)
        for r in runs:
            shown = ", ".join(f"{k} {_fmt(v)}" for k, v in list(r.metrics.items())[:3])
            rt.add_row(_when(r.at), escape(r.run_id), escape(r.endpoint), escape(r.suite), r.verdict,
                       _fmt(r.e_value), _fmt(r.p_value), str(r.requests), escape(shown))
        out.print(rt)


def register(app: typer.Typer) -> None:
    app.command("history")(history)

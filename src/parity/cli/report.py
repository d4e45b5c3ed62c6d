"""``parity report RUN_ID``: the HTML page and Markdown for a stored run."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, fail, open_store, store_missing


def report(
    run_id: str = typer.Argument(..., help="The run to report (see `parity runs`)."),
    db: str = typer.Option(None, "--db", help="Store: a SQLite path or a postgresql:// URL."),
    out: Path = typer.Option(Path("parity-report"), "--out", "-o", help="Directory to write into."),
) -> None:
    """Write report.html (self-contained), report.md and results.json for a run."""
    from parity.report import watch_for_run, write_report

    store = open_store(db, create=False)
    try:
        run = store.get_run(run_id)
    except KeyError as exc:
        raise fail(str(exc).strip("'\"")) from None
    verdicts = store.verdicts(run_id)
    if not verdicts:
        raise fail(f"run {run_id} has no verdicts yet (interrupted?): run the same verify command to finish it")
    paths = write_report(run, verdicts, out, watch_for_run(store, run.reference, verdicts))
    console.print(f"report: {paths.html}\nmarkdown: {paths.markdown}\njson: {paths.json}")


def runs(db: str = typer.Option(None, "--db", help="Store URL or path.")) -> None:
    """List stored runs, newest first (a missing store is not created)."""
    missing = store_missing(db)
    if missing is not None:
        console.print(f"no runs: no store at {missing} (`parity verify` creates one)")
        return
    store = open_store(db, create=False)
    for r in store.list_runs():
        typer.echo(f"{r.id}  {r.status:9}  {r.created_at:%Y-%m-%d %H:%M}  suites={','.join(r.suites)}  "
                   f"reference={r.reference}")


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(runs)

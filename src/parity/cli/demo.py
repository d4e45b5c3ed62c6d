"""``parity demo``: the whole job on the built-in testbed, start to finish.

Builds llama.cpp (cached), brings every testbed variant up, verifies them all
against the reference with every suite, prints the leaderboard, writes the
report and brings the testbed down again -- also when interrupted.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import typer

from parity.config import load_config
from parity.runner import Runner
from parity.suites import suite_names

from ._common import console, fail, open_store
from ._explain import explain
from ._render import RichProgress, verdict_table
from ._suites import make_suites

# The demo's default: what tells the testbed's variants apart in minutes. The accuracy and
# speed suites answer other questions at hundreds of requests per variant (--suite adds them).
DEMO_SUITES = ("toolcall", "conformance", "equality")


def demo(
    variants: str = typer.Option(None, "--variants", help="Comma-separated testbed variants (default: all)."),
    suite: list[str] = typer.Option(None, "--suite", "-s",
                                    help="Suites to run (default: toolcall, conformance, equality; "
                                         "accuracy and speed on request)."),
    limit: int = typer.Option(60, "--limit", min=10, help="Tool-call cases per endpoint."),
    max_tokens: int = typer.Option(32, "--max-tokens", min=8, help="Cap on tool-call answers' length."),
    out: Path = typer.Option(Path("parity-report"), "--out", "-o", help="Where the report goes."),
    workdir: Path = typer.Option(Path(".parity/demo"), "--workdir", help="Store and config of the demo."),
    keep_up: bool = typer.Option(False, "--keep-up", help="Leave the testbed running afterwards."),
) -> None:
    """Run every suite against every testbed variant and write the report."""
    from parity.testbed import (
        DEFAULT_RUN_DIR,
        VARIANTS,
        Testbed,
        TestbedError,
        build_llama_cpp,
        default_cache_dir,
    )

    t0 = time.monotonic()
    names = suite or [n for n in suite_names() if n in DEMO_SUITES]
    # --limit and --max-tokens size the tool-call suite only: accuracy keeps its own lengths
    suites = make_suites(names, {"limit": limit, "max_tokens": max_tokens}, applies_to=("toolcall",))
    cache = default_cache_dir(os.environ)
    console.print(f"[bold]parity demo[/]: suites {', '.join(names)}; testbed build cache {cache}")
    log = lambda m: console.print(m, markup=False, soft_wrap=True)  # noqa: E731
    try:
        build_llama_cpp(cache, log=log)
        testbed = Testbed(Path(DEFAULT_RUN_DIR), cache, log=log)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            testbed.up(variants.split(",") if variants else None)
            cfg_path = testbed.write_config(workdir / "parity.toml")
            cfg = load_config(cfg_path)
            store = open_store(str(workdir / "parity.db"))
            progress = RichProgress.make()
            bars = RichProgress(progress)
            runner = Runner(cfg, suites, store, progress=bars, new_run=True)
            with progress:
                result = asyncio.run(runner.run())
                bars.finish()
        finally:
            if not keep_up:
                testbed.down()
                console.print("testbed down: nothing left running")
    except TestbedError as exc:
        raise fail(str(exc)) from None
    from parity.report import write_report

    console.print(verdict_table(result.verdicts))
    for line in explain(result.verdicts, {n: v.description for n, v in VARIANTS.items()}):
        console.print(line, markup=False, soft_wrap=True)
    paths = write_report(result.run, result.verdicts, out)
    console.print(f"configuration: {cfg_path}\nstore: {store.describe()} (run {result.run.id})")
    console.print(f"[bold]report:[/] {paths.html.resolve()}\n        {paths.markdown.resolve()}")
    console.print(f"demo finished in {time.monotonic() - t0:.0f} s")


def register(app: typer.Typer) -> None:
    app.command()(demo)

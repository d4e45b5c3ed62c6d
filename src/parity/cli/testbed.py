"""``parity testbed``: build, start, stop and describe the local testbed (thin over the library)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parity.testbed import (
    DEFAULT_FAULTS,
    DEFAULT_RUN_DIR,
    VARIANTS,
    RunningVariant,
    ServerSettings,
    Testbed,
    TestbedError,
    build_llama_cpp,
    default_cache_dir,
    default_threads,
)
from parity.testbed.faults import FaultConfig, parse_fault_flags, serve

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

RunDir = Annotated[Path, typer.Option("--run-dir", help="Where logs and the state file live.")]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Build cache (default $PARITY_CACHE_DIR or ~/.cache/parity)."),
]
Faults = Annotated[
    list[str] | None,
    typer.Option("--fault", help="MODE[:RATE], repeatable; modes without a rate share the rest."),
]


def _cache(cache_dir: Path | None) -> Path:
    return cache_dir or default_cache_dir(os.environ)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (TestbedError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _log(message: str) -> None:
    console.print(message, markup=False, soft_wrap=True)


@app.command()
def build(
    source: Annotated[
        Path | None, typer.Option("--source", help="An unpacked llama.cpp source tree.")
    ] = None,
    build_dir: Annotated[
        Path | None, typer.Option("--build-dir", help="A (possibly built) cmake tree.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Compile jobs (default: cores).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the cache is complete.")
    ] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Build llama-server and llama-quantize once into the cache (about 10 min on 2 cores)."""
    with _errors():
        result = build_llama_cpp(
            _cache(cache_dir),
            source_dir=source,
            build_dir=build_dir,
            jobs=jobs,
            force=force,
            log=_log,
        )
    out.print(str(result.root))


def _table(
    records: list[RunningVariant], health: dict[str, tuple[bool, bool]] | None = None
) -> Table:
    table = Table(
        "variant",
        "pid",
        "port",
        "base_url",
        "serves",
        "startup_s",
        *(("alive", "healthy") if health is not None else ()),
    )
    for r in records:
        serves = ", ".join(f"{k}={v}" for k, v in r.serves.items())
        row = [
            r.variant,
            str(r.pid),
            str(r.port),
            r.base_url,
            serves,
            f"{r.startup_s:.1f}" if r.startup_s is not None else "-",
        ]
        if health is not None:
            alive, healthy = health[r.variant]
            row += ["yes" if alive else "NO", "yes" if healthy else "NO"]
        table.add_row(*row)
    return table


@app.command()
def up(
    variants: Annotated[
        str | None,
        typer.Option("--variants", help=f"Comma-separated, default all: {','.join(VARIANTS)}."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Threads per llama-server.")
    ] = None,
    ctx_size: Annotated[
        int, typer.Option("--ctx-size", help="Context of each server (all slots).")
    ] = 4096,
    parallel: Annotated[int, typer.Option("--parallel", help="Slots per server.")] = 2,
    fault: Faults = None,
    fault_seed: Annotated[int, typer.Option("--fault-seed")] = 0,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each may take to get healthy.")
    ] = 180.0,
    run_dir: RunDir = DEFAULT_RUN_DIR,
    cache_dir: CacheDir = None,
) -> None:
    """Start the variants (those already running are kept)."""
    with _errors():
        settings = ServerSettings(
            ctx_size=ctx_size, parallel=parallel, threads=threads or default_threads()
        )
        specs = parse_fault_flags(fault) if fault else list(DEFAULT_FAULTS)
        testbed = Testbed(
            run_dir,
            _cache(cache_dir),
            settings=settings,
            faults=specs,
            fault_seed=fault_seed,
            startup_timeout_s=timeout,
            log=_log,
        )
        names = variants.split(",") if variants else None
        records = testbed.up(names)
    out.print(_table(records))


@app.command()
def down(run_dir: RunDir = DEFAULT_RUN_DIR, cache_dir: CacheDir = None) -> None:
    """Stop every process the testbed started (by pid, from the state file)."""
    with _errors():
        stopped = Testbed(run_dir, _cache(cache_dir), log=_log).down()
    out.print(f"stopped {len(stopped)} process(es)")


@app.command()
def status(
    run_dir: RunDir = DEFAULT_RUN_DIR,
    cache_dir: CacheDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each variant: pid, port, alive, healthy."""
    with _errors():
        rows = Testbed(run_dir, _cache(cache_dir), log=_log).status()
    if as_json:
        out.print_json(data=[s.model_dump(mode="json") for s in rows])
    elif not rows:
        out.print("testbed is down")
    else:
        health = {s.record.variant: (s.alive, s.healthy) for s in rows}
        out.print(_table([s.record for s in rows], health))


@app.command()
def config(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write it.")] = Path(
        "parity.toml"
    ),
    run_dir: RunDir = DEFAULT_RUN_DIR,
    cache_dir: CacheDir = None,
) -> None:
    """Write a parity.toml for the running endpoints (reference = true on "reference")."""
    with _errors():
        written = Testbed(run_dir, _cache(cache_dir), log=_log).write_config(out_path)
    out.print(str(written))


@app.command()
def proxy(
    upstream: Annotated[
        str, typer.Option("--upstream", help="Upstream base URL, e.g. http://host:8080")
    ],
    fault: Faults = None,
    port: Annotated[int, typer.Option("--port")] = 8090,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    seed: Annotated[int, typer.Option("--seed", help="Mixed into each request's hash.")] = 0,
    annotate: Annotated[
        bool, typer.Option("--annotate", help="Name the fault in x-parity-fault.")
    ] = False,
    context_budget: Annotated[
        int, typer.Option("--context-budget", help="Chars context_truncation keeps.")
    ] = 2000,
) -> None:
    """Run the fault proxy in the foreground in front of any OpenAI-compatible server."""
    with _errors():
        settings = FaultConfig(
            upstream=upstream,
            faults=parse_fault_flags(fault or []),
            seed=seed,
            annotate=annotate,
            context_budget_chars=context_budget,
        )
    serve(settings, host, port)

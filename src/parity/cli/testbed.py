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
from parity.testbed.faults import (
    FaultConfig,
    parse_fault_flags,
    parse_misroute,
    parse_switch,
    serve,
)

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

SwitchFlag = Annotated[
    str | None,
    typer.Option("--switch", help="TARGET[+sampling][@WHEN]: the switch variant switches to TARGET "
                 "(e.g. q4_0, template, sampling) at WHEN (+60s, +1m..+5m, random:1m-10m, after:N, manual, "
                 "an ISO time); see docs/testbed.md."),
]
MisrouteFlag = Annotated[
    str | None,
    typer.Option("--misroute", help="TARGET:SHARE[@WHEN]: the switch variant sends SHARE of the requests "
                 "to TARGET during WHEN (e.g. q4_0:0.1@+1m..+11m)."),
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
    switch: SwitchFlag = None,
    misroute: MisrouteFlag = None,
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
            switch=switch,
            misroute=misroute,
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
    switch: SwitchFlag = None,
    misroute: MisrouteFlag = None,
) -> None:
    """Run the fault proxy in the foreground in front of any OpenAI-compatible server
    (--switch/--misroute targets are URLs here)."""
    with _errors():
        settings = FaultConfig(
            upstream=upstream,
            faults=parse_fault_flags(fault or []),
            seed=seed,
            annotate=annotate,
            context_budget_chars=context_budget,
            switch=parse_switch(switch, seed=seed) if switch else None,
            misroute=parse_misroute(misroute) if misroute else None,
        )
    serve(settings, host, port)


@app.command()
def flip(
    state: Annotated[str, typer.Argument(help="on (switch now), off (undo), auto (back to the schedule)")],
    misroute: Annotated[bool, typer.Option("--misroute", help="Flip the misroute, not the switch.")] = False,
    variant: Annotated[str, typer.Option("--variant", help="The proxy to flip.")] = "switch",
    run_dir: RunDir = DEFAULT_RUN_DIR,
    cache_dir: CacheDir = None,
) -> None:
    """Switch the switch variant now, undo it, or give it back to its schedule (its admin API)."""
    import httpx

    with _errors():
        if state not in ("on", "off", "auto"):
            raise ValueError(f"state must be on, off or auto (got {state!r})")
        record = next((s.record for s in Testbed(run_dir, _cache(cache_dir), log=_log).status()
                       if s.record.variant == variant and s.alive), None)
        if record is None or record.kind != "fault-proxy":
            raise TestbedError(f"no running proxy {variant!r}: `parity testbed up --switch ...` first")
        url = record.health_url.removesuffix("/health") + ("/admin/misroute" if misroute else "/admin/switch")
        r = httpx.post(url, json={"state": state}, timeout=10)
        if r.status_code != 200:
            raise TestbedError(f"{variant}: {r.json().get('error', {}).get('message', r.text)}")
    out.print_json(data=r.json())

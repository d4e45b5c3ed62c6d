"""``parity watch``: keep every configured endpoint under continuous observation.

``parity watch`` runs everything in one process (SQLite by default).
``parity watch scheduler`` and ``parity watch worker`` are the roles of the
scale-out (docs/watch.md, "Running at scale"); ``parity watch --workers N``
runs a scheduler here and N workers as child processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from ._common import config_errors, console, fail, keys_from_env, open_store

if TYPE_CHECKING:
    from parity.store import Store
    from parity.watch._alerts import AlertSender
    from parity.watch._config import WatchConfig
    from parity.watch._service import WatchService

app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                  help="Watch endpoints: sentinels and scheduled suites, change detection, alerts.")

_CONFIG = typer.Option(Path("parity.toml"), "--config", "-c",
                       help="parity.toml with endpoints and a \\[watch] section.")
_DB = typer.Option(None, "--db", help="Store: a SQLite path or a database URL.")


@contextlib.contextmanager
def _service(config_path: Path, db: str | None) -> Iterator[tuple[WatchService, WatchConfig, Store]]:
    from parity.watch import load_watch
    from parity.watch._alerts import AlertSender
    from parity.watch._service import WatchService

    with config_errors():
        config, wconf = load_watch(config_path)
        keys = keys_from_env(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("pika", "alembic"):  # connection chatter at INFO, none of it the watch's
        logging.getLogger(noisy).setLevel(logging.WARNING)
    store = open_store(db, secrets=[k for k in keys.values() if k])
    env = wconf.alerts.webhook_url_env
    url = (os.environ.get(env) or None) if env else None
    try:
        with config_errors():
            service = WatchService(config, wconf, store, keys=keys)
        service.alerts = AlertSender(service.store, wconf.alerts, url)
        yield service, wconf, store
    finally:
        store.close()


def _broker(wconf: WatchConfig, store: Store) -> Any:
    from parity.watch._engine import make_broker

    if store.engine.dialect.name != "postgresql":
        raise fail("the scheduler and workers share a PostgreSQL store: pass --db postgresql://...")
    url = os.environ.get(wconf.engine.broker_url_env)
    if not url:
        raise fail(f"set ${wconf.engine.broker_url_env} to the broker's URL (redis://... or amqp://...)")
    with config_errors():
        return make_broker(url, wconf.engine)


@app.callback()
def watch(
    ctx: typer.Context,
    config_path: Path = _CONFIG,
    db: str = _DB,
    once: bool = typer.Option(False, "--once", help="Run the ticks due now, deliver alerts, exit."),
    workers: int = typer.Option(0, "--workers", min=0, help="Scale out: run the scheduler here and N "
                                "worker processes (PostgreSQL store and a broker needed)."),
    dashboard_port: int = typer.Option(None, "--dashboard-port", help="Also serve the dashboard on "
                                       "http://127.0.0.1:PORT/dashboard while watching."),
) -> None:
    """Run the sentinels and suites on their schedules, detect changes, record them and alert."""
    if ctx.invoked_subcommand is not None:
        return
    if workers:
        _with_workers(config_path, db, workers)
        return
    with _service(config_path, db) as (service, _wconf, store):
        from .dashboard import alongside

        assert service.alerts is not None
        asyncio.run(alongside(_main(service, service.alerts, once), store, dashboard_port,
                              service.config.endpoints))
        if once:
            _print_states(service)


@app.command("scheduler")
def scheduler(config_path: Path = _CONFIG, db: str | None = _DB) -> None:
    """The scheduler role: publish due jobs while holding the lock (others wait on standby)."""
    from parity.watch._engine import run_scheduler

    with _service(config_path, db) as (service, wconf, store):
        broker = _broker(wconf, store)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            try:
                await run_scheduler(service, broker, wconf.engine, stop=stop)
            finally:
                await service.aclose()

        try:
            asyncio.run(main())
        finally:
            broker.close()


@app.command("worker")
def worker(config_path: Path = _CONFIG, db: str | None = _DB,
           threads: int = typer.Option(None, "--threads", min=1, help="Jobs at once (default: "
                                       "[watch.engine] worker_threads).")) -> None:
    """The worker role: run the jobs the scheduler publishes, until SIGTERM."""
    from parity.watch._engine import run_worker

    with _service(config_path, db) as (service, wconf, store):
        broker = _broker(wconf, store)
        conf = wconf.engine if threads is None else wconf.engine.model_copy(update={"worker_threads": threads})
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        with config_errors():
            run_worker(service, broker, conf, stop)


def _with_workers(config_path: Path, db: str | None, n: int) -> None:
    cmd = [sys.executable, "-m", "parity.cli", "watch", "worker", "--config", str(config_path)]
    if db:
        cmd += ["--db", db]
    procs = [subprocess.Popen(cmd) for _ in range(n)]
    try:
        scheduler(config_path, db)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


async def _main(service: WatchService, alerts: AlertSender, once: bool) -> None:
    try:
        if once:
            await service.run_once()
            await alerts.drain()
            return
        task = asyncio.create_task(alerts.run())
        try:
            await service.run_forever()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await service.aclose()


def _print_states(service: WatchService) -> None:
    table = Table(title="watch states")
    for col in ("endpoint", "stream", "state", "statistic", "alarm at", "last tick"):
        table.add_column(col)
    for row in service.store.states():
        levels = service.watch.levels(row.endpoint)
        table.add_row(row.endpoint, row.stream, row.state.value, f"{row.statistic:.3g}",
                      f"{levels.alarm:.0f}", row.tick_id)
    console.print(table)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="watch")

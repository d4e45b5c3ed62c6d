"""``parity watch``: keep every configured endpoint under continuous observation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ._common import config_errors, console, keys_from_env, open_store

if TYPE_CHECKING:
    from parity.watch._alerts import AlertSender
    from parity.watch._service import WatchService


def watch(
    config_path: Path = typer.Option(Path("parity.toml"), "--config", "-c",
                                     help="parity.toml with endpoints and a [watch] section."),
    db: str = typer.Option(None, "--db", help="Store: a SQLite path or a database URL."),
    once: bool = typer.Option(False, "--once", help="Run the ticks due now, deliver alerts, exit."),
    dashboard_port: int = typer.Option(None, "--dashboard-port", help="Also serve the dashboard on "
                                       "http://127.0.0.1:PORT/dashboard while watching."),
) -> None:
    """Run the sentinels on their schedules, detect changes, record them and alert."""
    from parity.watch import load_watch
    from parity.watch._alerts import AlertSender
    from parity.watch._service import WatchService

    with config_errors():
        config, wconf = load_watch(config_path)
        keys = keys_from_env(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store = open_store(db, secrets=[k for k in keys.values() if k])
    env = wconf.alerts.webhook_url_env
    url = (os.environ.get(env) or None) if env else None
    try:
        with config_errors():
            service = WatchService(config, wconf, store, keys=keys)
        service.alerts = AlertSender(service.store, wconf.alerts, url)
        from .dashboard import alongside

        asyncio.run(alongside(_main(service, service.alerts, once), store, dashboard_port, config.endpoints))
        if once:
            _print_states(service)
    finally:
        store.close()


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


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)

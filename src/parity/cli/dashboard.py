"""``parity dashboard``: serve the read-only dashboard over a store (and a gateway's live state)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import typer
from starlette.applications import Starlette

from parity.config import EndpointConfig
from parity.store import Store

from ._common import DEFAULT_DB, fail, open_store

if TYPE_CHECKING:
    from parity.gateway import GatewayConfig


def dashboard(
    db: str = typer.Option(None, "--db", help=f"Store: a SQLite path or a database URL (default {DEFAULT_DB})."),
    gateway: str = typer.Option(None, "--gateway", help="A parity gateway's URL: live admission and rates."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8790, "--port", help="Port to listen on."),
    token_hash: list[str] = typer.Option(
        [], "--token-hash", help="'sha256:…' of an accepted read-only token (repeatable; "
        "`parity gateway hash-key` makes one). Also PARITY_DASHBOARD_TOKEN_HASHES, comma-separated."),
    gateway_config: str = typer.Option(
        None, "--gateway-config", help="The gateway's TOML: its model aliases and their endpoints on the "
        "overview (and the endpoints' models and declared configuration)."),
) -> None:
    """Serve the dashboard: overview, endpoint history, compare, runs and evidence."""
    import uvicorn

    from parity.dashboard import DashboardError, create_dashboard

    hashes = list(token_hash) + env_hashes()
    if any(not h.startswith("sha256:") or len(h) != 71 for h in hashes):
        raise fail("--token-hash: expected 'sha256:' and 64 hex digits (see `parity gateway hash-key`)")
    aliases, endpoints = _from_gateway_config(gateway_config) if gateway_config else ({}, [])
    store = open_store(db)
    try:
        app = create_dashboard(store, gateway_url=gateway, token_hashes=hashes, aliases=aliases,
                               endpoints=endpoints)
    except DashboardError as exc:
        store.close()
        raise fail(str(exc)) from None
    if not hashes:
        typer.echo("parity dashboard: no --token-hash given; anyone who can reach "
                   f"{host}:{port} can read the store", err=True)
    typer.echo(f"parity dashboard on http://{host}:{port}/ over {store.describe()}", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.close()


def _from_gateway_config(path: str) -> tuple[dict[str, list[str]], list[EndpointConfig]]:
    from parity.config import ConfigError
    from parity.gateway import load_gateway_config

    try:
        cfg = load_gateway_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    return aliases_of(cfg), list(cfg.endpoints)


def aliases_of(cfg: GatewayConfig) -> dict[str, list[str]]:
    """Alias -> the endpoints it routes to, from a gateway's configuration."""
    return {m.alias: list(m.endpoints) for m in cfg.models}


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)


# The same app inside other long-running commands ------------------------------
def env_hashes() -> list[str]:
    return [h for h in os.environ.get("PARITY_DASHBOARD_TOKEN_HASHES", "").split(",") if h]


def mount_dashboard(app: Starlette, store: Store, gateway_url: str | None,
                    config: GatewayConfig | None = None) -> None:
    """``parity gateway serve --dashboard``: the dashboard at /dashboard of the gateway's app
    (with ``config``, the gateway's aliases and endpoints on its overview)."""
    from parity.dashboard import DashboardError, create_dashboard

    aliases, endpoints = (aliases_of(config), list(config.endpoints)) if config else ({}, [])
    try:
        app.mount("/dashboard", create_dashboard(store, gateway_url=gateway_url, token_hashes=env_hashes(),
                                                 aliases=aliases, endpoints=endpoints))
    except DashboardError as exc:
        raise fail(str(exc)) from None


async def alongside(main: Coroutine[Any, Any, None], store: Store, port: int | None,
                    endpoints: Sequence[EndpointConfig] = ()) -> None:
    """``parity watch --dashboard-port N``: serve /dashboard on 127.0.0.1:N while ``main`` runs."""
    if port is None:
        await main
        return
    import uvicorn
    from starlette.routing import Mount

    from parity.dashboard import DashboardError, create_dashboard

    try:
        dash = create_dashboard(store, token_hashes=env_hashes(), endpoints=endpoints)
    except DashboardError as exc:
        main.close()
        raise fail(str(exc)) from None
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Mount("/dashboard", dash)]), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        await main
    finally:
        server.should_exit = True
        await task

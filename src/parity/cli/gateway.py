"""``parity gateway``: serve the gateway; ``parity gateway hash-key``: hash a gateway key for the config.

Thin: parse arguments, read files and the environment here (the edge), call the library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.config import ConfigError

app = typer.Typer(help="Route live traffic only to endpoints that serve the model well.", no_args_is_help=True)


@app.command("serve")
def gateway(
    config: Annotated[Path, typer.Option("--config", "-c", help="Gateway TOML file.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    db: Annotated[str | None, typer.Option(help="Store (SQLite path or PostgreSQL URL) with verdicts.")] = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", envvar="PARITY_REDIS_URL", help="Share state via Redis.")
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", envvar="PARITY_LOG_FORMAT",
                                            help="Log lines: 'kv' (key=value) or 'json'.")] = "kv",
    log_level: Annotated[str, typer.Option("--log-level", envvar="PARITY_LOG_LEVEL",
                                           help="debug (every attempt), info, warning or error.")] = "info",
    access_log: Annotated[float, typer.Option(
        "--access-log", min=0.0, max=1.0, envvar="PARITY_ACCESS_LOG",
        help="Share of successful requests in the access log (1: all, 0: none); errors always.")] = 1.0,
    otel: Annotated[bool, typer.Option(
        "--otel/--no-otel", help="Export traces over OTLP (the otel extra; configured by the standard "
                                 "OTEL_EXPORTER_OTLP_* variables). On by default when OTEL_EXPORTER_OTLP_ENDPOINT "
                                 "or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.")] = False,
    dashboard: Annotated[bool, typer.Option(
        help="Also serve the read-only dashboard at /dashboard (needs --db).")] = False,
) -> None:
    """Serve the OpenAI-compatible gateway with uvicorn."""
    import uvicorn

    from parity.gateway import create_app, load_gateway_config, uvicorn_config
    from parity.logs import FORMATS, configure_logging
    from parity.store import Store

    if log_format not in FORMATS or log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        typer.echo(f"--log-format: one of {', '.join(FORMATS)}; --log-level: debug, info, warning, error", err=True)
        raise typer.Exit(2)
    configure_logging(log_format, log_level)

    try:
        cfg = load_gateway_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    redis = None
    if redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(redis_url)
    try:
        store = Store(db) if db else None
        application = create_app(cfg, store=store, redis=redis)
    except ConfigError as exc:  # e.g. an endpoint's api_key_env is not set
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _observability(application, access_log, otel)
    if dashboard and store is not None:  # the same store; live state from this very gateway
        from .dashboard import mount_dashboard

        mount_dashboard(application, store, f"http://127.0.0.1:{port}", cfg)
    _tune_gc()
    # connection limits (keep-alive, request and head timeouts, per-address cap) come from [server]
    uvicorn.Server(uvicorn_config(application, cfg.server, host, port)).run()


def _observability(application: object, access_log: float, otel: bool) -> None:
    """The edge: access-log sampling, and OTLP tracing when asked for or configured by OTEL_ vars."""
    import os

    events = application.state.gateway.events  # type: ignore[attr-defined]
    events.access_sample = access_log
    wanted = otel or any(os.environ.get(v) for v in ("OTEL_EXPORTER_OTLP_ENDPOINT",
                                                     "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    if wanted and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        from parity.gateway._otel import configure_otlp

        try:
            events.tracing = configure_otlp(os.environ.get("OTEL_SERVICE_NAME", "parity-gateway"))
        except RuntimeError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None


def _tune_gc() -> None:
    """This process is a long-lived proxy: move everything built so far (modules, config,
    compiled schemas) out of the collector's sight and collect young objects less often,
    so full collections -- the gateway's largest latency spikes -- are rare and short."""
    import gc

    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, 5_000), gen1, gen2)


@app.command("hash-key")
def hash_key(
    key: Annotated[str, typer.Option(prompt=True, hide_input=True, help="The gateway key to hash.")],
) -> None:
    """Print the 'sha256:…' line to put in [server].api_key_hashes (the key itself is not stored)."""
    from parity.gateway import hash_key as _hash

    typer.echo(_hash(key))

"""Shared edges of the CLI: environment, store, errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from parity.config import ConfigError, ParityConfig
from parity.store import Store

# Not a terminal (CI logs, pipes): wide enough that tables and messages stay on one line.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
DEFAULT_DB = ".parity/parity.db"


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def keys_from_env(config: ParityConfig, environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    env = os.environ if environ is None else environ
    return {e.name: e.api_key(env) for e in config.endpoints}


def redactor(secrets: list[str]) -> Callable[[str], str]:
    values = [s for s in secrets if s and len(s) >= 4]

    def redact(text: str) -> str:
        for s in values:
            if s in text:
                text = text.replace(s, "***")
        return text

    return redact


def store_missing(db: str | None) -> str | None:
    """The path of a SQLite store that does not exist yet, or None (URLs are not checked)."""
    url = db or DEFAULT_DB
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    elif "://" in url:
        return None
    return None if Path(url).expanduser().exists() else url


def open_store(db: str | None, secrets: list[str] | None = None, *, create: bool = True) -> Store:
    """The store; with ``create=False`` a missing SQLite file is an error, never created."""
    url = db or DEFAULT_DB
    missing = store_missing(db)
    if missing is not None and not create:
        raise fail(f"no store at {missing}: `parity verify` creates one (or pass --db)")
    if "://" not in url:
        Path(url).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        return Store(url, redact=redactor(secrets or []))
    except Exception as exc:  # driver and connection errors: say where, not how
        raise fail(f"cannot open the store at {url.split('@')[-1]}: {type(exc).__name__}: {exc}") from None


@contextmanager
def config_errors() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        raise fail(str(exc)) from None

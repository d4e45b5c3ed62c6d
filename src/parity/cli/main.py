"""The ``parity`` command: thin sub-commands over the library."""

from __future__ import annotations

import importlib
import sys

import typer

from parity._version import __version__

app = typer.Typer(
    name="parity",
    help="Measure whether OpenAI-compatible endpoints serve a model faithfully, "
    "and route only to those that do.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"parity {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """parity: model + provider + runtime config, made measurable."""


# Commands live one per module; each module registers itself on ``app``.
for _module in ("verify", "report", "score", "demo", "watch", "history"):
    importlib.import_module(f"parity.cli.{_module}").register(app)
importlib.import_module("parity.cli.dashboard").register(app)

# Sub-apps of optional capabilities: present when their module is.
for _module, _name, _help in (
    ("testbed", "testbed", "The local testbed: real llama.cpp endpoints, faithful and not."),
    ("gateway", "gateway", "The OpenAI-compatible gateway that routes to verified endpoints."),
):
    try:
        _mod = importlib.import_module(f"parity.cli.{_module}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"parity.cli.{_module}":
            raise
        continue
    if hasattr(_mod, "register"):
        _mod.register(app)
    elif hasattr(_mod, "app"):
        app.add_typer(_mod.app, name=_name, help=_help)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted: what was stored is kept; run the same command to resume", err=True)
        sys.exit(130)  # ExitCode.INTERRUPTED, the README's table

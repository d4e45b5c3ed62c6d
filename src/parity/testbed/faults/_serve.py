"""Running the proxy as a server process (uvicorn), and the command that starts one."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from parity.testbed.faults._app import create_app
from parity.testbed.faults._config import FaultConfig


def serve(config: FaultConfig, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Serve the proxy in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", access_log=True)


def proxy_argv(config_path: Path, host: str, port: int) -> list[str]:
    """The command that runs a proxy from a config file in its own process."""
    return [
        sys.executable,
        "-m",
        "parity.testbed.faults",
        "--config",
        str(config_path),
        "--host",
        host,
        "--port",
        str(port),
    ]

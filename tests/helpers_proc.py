"""Real processes on 127.0.0.1 for end-to-end tests: the fake endpoint server and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from parity.fake import free_port


def wait_until(what: str, check: Callable[[], object], timeout_s: float = 60.0, every_s: float = 0.02) -> None:
    """Poll ``check`` until it is true; AssertionError naming ``what`` after ``timeout_s`` (a cap
    against hangs, not a measured time: a condition, never a fixed sleep, is waited for)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(every_s)


@contextmanager
def fake_server(*args: str, port: int | None = None) -> Iterator[str]:
    """``python -m parity.fake`` on a free port (or ``port``); yields its /v1 base URL. On exit
    it is stopped with SIGTERM, which lets it finish (and log) the requests it holds."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "parity.fake", "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fake server did not start: {proc.stderr.read() if proc.stderr else ''!r}")
            time.sleep(0.05)
        yield f"{base}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def sigint_default() -> None:
    """``preexec_fn`` for a child a test interrupts: a shell's background job (how CI may run the
    suite) starts with SIGINT ignored, and a child inherits that; parity rightly keeps an ignored
    SIGINT ignored, so the test restores the default before exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_in_flight(base_url: str, done: Callable[[int], bool], timeout_s: float = 60.0) -> None:
    """Poll a fake server's /health until ``done(requests in flight)``: what a test waits for
    instead of sleeping (work under way before a signal, or drained after a kill)."""
    deadline = time.monotonic() + timeout_s
    while not done(httpx.get(f"{base_url.removesuffix('/v1')}/health", timeout=5).json()["in_flight"]):
        assert time.monotonic() < deadline, "fake server: requests in flight never reached the expected count"
        time.sleep(0.02)


def write_config(path: Path, base_url: str, names: tuple[str, ...], extra: str = "") -> Path:
    blocks = []
    for i, n in enumerate(names):
        blocks.append(f'[[endpoints]]\nname = "{n}"\nbase_url = "{base_url}"\nmodel = "m"\n'
                      f'reference = {"true" if i == 0 else "false"}\nmax_concurrency = 4\n{extra}\n')
    path.write_text("\n".join(blocks))
    return path


def parity_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "parity.cli", *args]

"""Child processes by pid: free ports, spawning detached, liveness, health, stopping.

Every process the testbed starts is later found again only through the pid
recorded in the state file, so these helpers never look processes up by name.
A pid alone can be reused after a crash or reboot; the start time read from
/proc guards against signalling a stranger that inherited it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from parity.testbed._errors import TestbedError

LOCALHOST = "127.0.0.1"


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """True when nothing listens on ``host:port`` and we could bind it now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: connections of a stopped server lingering in TIME_WAIT
        # do not stop a new one from listening; only a live listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOCALHOST, avoid: Sequence[int] = ()) -> int:
    """A port the OS considers free right now, re-checked by binding it again.

    Ports handed out earlier in the same ``up`` are avoided because their
    servers may not have bound them yet.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid and port_is_free(port, host):
            return port
    raise TestbedError(f"could not find a free TCP port on {host}")


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses; fields after
    # the last ')' are fixed. starttime is field 22, i.e. index 19 after it.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it stops being a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs and is the same process that was recorded."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists but belongs to someone else: certainly not ours, see below
    if _is_zombie(pid):
        return False
    if start_ticks is not None:
        current = process_start_ticks(pid)
        if current is not None and current != start_ticks:
            return False
    return True


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` detached (own session) with output to ``log_path``; return its pid.

    Its own session keeps it alive after the ``up`` command exits and out of the
    reach of a Ctrl-C meant for the terminal.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:  # one log per start: stale lines mislead
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        except OSError as exc:
            raise TestbedError(f"could not start {argv[0]}: {exc}") from None
    # The pid is the only handle from now on (the state file outlives this
    # process). Marking the Popen as finished stops its finaliser from warning
    # about a "still running" child; _reap() collects the real exit status.
    proc.returncode = 0
    return proc.pid


def stop(pid: int, start_ticks: int | None = None, timeout_s: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout_s``; True if it was running and is now gone."""
    if not pid_alive(pid, start_ticks):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout_s):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, 5.0):
        raise TestbedError(f"process {pid} did not exit after SIGKILL")
    return True


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def probe_health(url: str, timeout_s: float = 2.0) -> bool:
    """One GET of a health URL; any 200 counts as healthy."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_all_healthy(
    pending: Sequence[tuple[str, str, int, Path, float]], timeout_s: float, poll_s: float = 0.2
) -> dict[str, float]:
    """Poll every ``(name, health_url, pid, log_path, spawned_at)`` until each answers 200.

    Polls all at once so that each startup time is measured from its own spawn
    (``time.monotonic()``) to its first healthy answer. Fails early, with the
    log tail, when a process exits, and with the same tail after ``timeout_s``,
    so that a model that cannot load is readable at once.
    """
    started = time.monotonic()
    waited: dict[str, float] = {}
    while len(waited) < len(pending):
        for name, url, pid, log_path, spawned_at in pending:
            if name in waited:
                continue
            if probe_health(url, timeout_s=2.0):
                waited[name] = time.monotonic() - spawned_at
            elif not pid_alive(pid):
                raise TestbedError(
                    f"{name} (pid {pid}) exited during startup; last lines of {log_path}:\n"
                    + log_tail(log_path)
                )
            elif time.monotonic() - started > timeout_s:
                raise TestbedError(
                    f"{name} (pid {pid}) not healthy at {url} after {timeout_s:.0f}s; "
                    f"last lines of {log_path}:\n" + log_tail(log_path)
                )
        if len(waited) < len(pending):
            time.sleep(poll_s)
    return waited

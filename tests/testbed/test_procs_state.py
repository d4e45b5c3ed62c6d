"""Ports, pids and the state file, with a stand-in long-running process."""

from __future__ import annotations

import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.testbed import (
    RunningVariant,
    TestbedError,
    TestbedState,
    free_port,
    pid_alive,
    port_is_free,
)
from parity.testbed._procs import log_tail, process_start_ticks, spawn, stop, wait_all_healthy
from parity.testbed._state import STATE_FILE, load_state, save_state

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_port_checks() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        assert not port_is_free(busy)
        assert free_port(avoid=[busy]) != busy
    assert port_is_free(busy)


def test_spawn_and_stop_by_pid(tmp_path: Path) -> None:
    pid = spawn(SLEEPER, tmp_path / "sleeper.log")
    ticks = process_start_ticks(pid)
    assert pid_alive(pid, ticks)
    assert stop(pid, ticks, timeout_s=5)
    assert not pid_alive(pid)
    assert not stop(pid, ticks)  # already gone: nothing to do, no error


def test_pid_reuse_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    pid = spawn(SLEEPER, tmp_path / "sleeper.log")
    ticks = process_start_ticks(pid)
    assert ticks is not None
    try:
        assert not pid_alive(pid, ticks + 1)
        assert not stop(pid, ticks + 1)  # a stranger with a recycled pid is left alone
        assert pid_alive(pid, ticks)
    finally:
        stop(pid, ticks)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)",
    ]
    log = tmp_path / "stubborn.log"
    pid = spawn(stubborn, log)
    while "ready" not in log_tail(log):
        time.sleep(0.05)
    started = time.monotonic()
    assert stop(pid, timeout_s=0.5)
    assert not pid_alive(pid)
    assert time.monotonic() - started < 5


def test_health_wait_reports_an_early_exit_with_the_log(tmp_path: Path) -> None:
    log = tmp_path / "dies.log"
    pid = spawn([sys.executable, "-c", "import sys; sys.exit('model file is corrupt')"], log)
    port = free_port()
    with pytest.raises(TestbedError, match="model file is corrupt"):
        wait_all_healthy([("x", f"http://127.0.0.1:{port}/health", pid, log, time.monotonic())], 10)


def test_health_wait_times_out_with_the_log(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    pid = spawn(
        [sys.executable, "-c", "print('still loading', flush=True); import time; time.sleep(60)"],
        log,
    )
    port = free_port()
    try:
        with pytest.raises(TestbedError, match=r"(?s)not healthy.*still loading"):
            wait_all_healthy(
                [("x", f"http://127.0.0.1:{port}/health", pid, log, time.monotonic())], 1.0
            )
    finally:
        stop(pid)


def _record(name: str, pid: int) -> RunningVariant:
    return RunningVariant(
        variant=name,
        kind="llama-server",
        pid=pid,
        start_ticks=process_start_ticks(pid),
        port=1,
        base_url="http://127.0.0.1:1/v1",
        health_url="http://127.0.0.1:1/health",
        model="smollm2",
        log_path="x.log",
        argv=["x"],
        started_at=datetime.now(UTC),
    )


def test_state_file_round_trip(tmp_path: Path) -> None:
    assert load_state(tmp_path) == TestbedState()
    state = TestbedState().replace(_record("a", 1)).replace(_record("b", 2))
    save_state(tmp_path, state)
    assert load_state(tmp_path) == state
    save_state(tmp_path, state.without("a").without("b"))
    assert not (tmp_path / STATE_FILE).exists()


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"processes": [{"pid": "x"}]}')
    with pytest.raises(TestbedError, match="not a testbed state file"):
        load_state(tmp_path)

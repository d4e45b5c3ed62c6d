"""Work per request that a loaded machine does not change: system calls and Python calls.

CPU time per request moves with the machine's load (cache and core contention); what a request
makes the gateway do does not. For each build the gateway runs under ``counted.py``; over a fixed
number of requests (after a warm-up) ``perf stat`` counts the system calls the process enters
(tracepoints: all, and write/read/epoll_pwait/getpid) and cProfile counts Python calls. Needs the
``perf`` command with tracepoint access (root or perf_event_paranoid ≤ 1 for tracepoints).
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .mock import UPSTREAM_KEY, UPSTREAM_KEY_ENV
from .procs import PY, gateway_config, measure, port, spawn

EVENTS = {"all": "raw_syscalls:sys_enter", "write": "syscalls:sys_enter_write", "read": "syscalls:sys_enter_read",
          "epoll_pwait": "syscalls:sys_enter_epoll_pwait", "getpid": "syscalls:sys_enter_getpid"}
RATE = 100.0


def _one(url: str, pid: int, proc: subprocess.Popen[bytes], calls: Path, mode: str,
         requests: int) -> dict[str, float]:
    measure(url, mode, 50, 1)  # warm-up
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", ",".join(EVENTS.values()), "-p", str(pid)],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    proc.send_signal(signal.SIGUSR2)
    out = measure(url, mode, RATE, requests / RATE)
    time.sleep(0.5)  # a stream's end runs just after the client's read
    proc.send_signal(signal.SIGUSR1)
    perf.send_signal(signal.SIGINT)
    err = perf.communicate()[1]
    time.sleep(0.3)
    served = out["n"] + 20  # the load generator's warm-up requests included
    names = {v: k for k, v in EVENTS.items()}
    counts = {names[f[2]]: int(f[0]) / served for f in (line.split(",") for line in err.splitlines())
              if len(f) > 2 and f[2] in names and f[0].isdigit()}
    return {**counts, "python_calls": int(calls.read_text()) / served, "errors": out["errors"]}


def run_work(upstream: str, workdir: Path, procs: list[subprocess.Popen[bytes]], modes: list[str],
             requests: int, builds: dict[str, Path | None]) -> str:
    rows = ["| build | mode | syscalls / request | write | read | epoll_pwait | getpid | Python calls / request "
            "| errors |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, src in builds.items():
        gw_port, calls = port(), Path(tempfile.mkdtemp(dir=workdir)) / "calls"
        cfg = workdir / f"work-{gw_port}.toml"
        gateway_config(upstream, cfg)
        env = {UPSTREAM_KEY_ENV: UPSTREAM_KEY, **({"PYTHONPATH": str(src)} if src is not None else {})}
        proc = spawn([PY, str(Path(__file__).with_name("counted.py")), str(calls), "gateway", "serve", "--config",
                      str(cfg), "--port", str(gw_port)], gw_port, name, env, workdir / f"work-{gw_port}.log")
        procs.append(proc)
        for mode in modes:
            c = _one(f"http://127.0.0.1:{gw_port}/v1/chat/completions", proc.pid, proc, calls, mode, requests)
            rows.append(f"| {name} | {mode} | " + " | ".join(f"{c.get(k, float('nan')):.1f}" for k in EVENTS)
                        + f" | {c['python_calls']:.0f} | {c['errors']:.0f} |")
        proc.terminate()
        proc.wait(timeout=30)
        procs.remove(proc)
    return "\n".join(rows)

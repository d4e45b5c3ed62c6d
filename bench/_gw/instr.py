"""Instructions per request: the gateway's CPU work, counted, not timed (a loaded machine does not move it).

Each build's gateway runs under ``valgrind --tool=callgrind`` with instrumentation off; after a
warm-up (its code translated, caches filled) ``callgrind_control`` zeroes the counters and turns
counting on, a fixed number of requests is sent at a slow fixed rate (the gateway runs many times
slower under valgrind), counting goes off and the counters are dumped. The figure is the
instructions the gateway's process executed in that window (its idle work in those seconds
included: uvicorn's date timer, housekeeping) over the requests served, the load generator's own
warm-up requests included. Needs ``valgrind``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from .mock import UPSTREAM_KEY, UPSTREAM_KEY_ENV
from .procs import PY, gateway_config, measure, port, wait_port

RATE = 4.0  # requests/s: well below what the gateway manages under callgrind
WARMUP = 20  # the load generator's own warm-up requests (load.load), in the window too


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _window(url: str, pid: int, out: Path, mode: str, requests: int) -> dict[str, float]:
    measure(url, mode, RATE, 3)  # warm-up, counting off
    _control(pid, "-z")
    _control(pid, "-i", "on")
    served = measure(url, mode, RATE, requests / RATE)
    time.sleep(1.0)  # a stream's end (access log, metrics) runs just after the client's read
    _control(pid, "-i", "off")
    before = set(out.parent.glob(out.name + ".*"))
    _control(pid, "-d")
    for _ in range(100):
        new = set(out.parent.glob(out.name + ".*")) - before
        if new and (m := re.search(r"^totals:\s*(\d+)", next(iter(new)).read_text(), re.M)):
            n = served["n"] + WARMUP
            return {"instructions": int(m.group(1)) / n, "n": n, "errors": served["errors"]}
        time.sleep(0.2)
    raise RuntimeError("callgrind dump not found")


def run_instr(upstream: str, workdir: Path, procs: list[subprocess.Popen[bytes]], modes: list[str],
              requests: int, builds: dict[str, Path | None]) -> str:
    rows = ["| build | mode | requests | instructions / request (millions) | errors |", "|---|---|---:|---:|---:|"]
    for name, src in builds.items():
        gw_port = port()
        cfg = workdir / f"instr-{gw_port}.toml"
        gateway_config(upstream, cfg)
        out = Path(tempfile.mkdtemp(dir=workdir)) / "callgrind.out"
        env = {UPSTREAM_KEY_ENV: UPSTREAM_KEY, **({"PYTHONPATH": str(src)} if src is not None else {})}
        log = (workdir / f"instr-{gw_port}.log").open("ab")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             PY, str(Path(PY).parent / "parity"), "gateway", "serve", "--config", str(cfg), "--port", str(gw_port)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log)
        procs.append(proc)
        wait_port(gw_port, proc, name, timeout=600)
        for mode in modes:
            c = _window(f"http://127.0.0.1:{gw_port}/v1/chat/completions", proc.pid, out, mode, requests)
            rows.append(f"| {name} | {mode} | {c['n']:.0f} | {c['instructions'] / 1e6:.3f} | {c['errors']:.0f} |")
        proc.terminate()
        proc.wait(timeout=60)
        procs.remove(proc)
    return "\n".join(rows)

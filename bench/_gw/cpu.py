"""The gateway's CPU time per request: robust where wall-clock latency is not (a shared machine).

The gateway process's user+system CPU seconds (``/proc/PID/stat``) are read
before and after a fixed number of requests sent at a fixed rate below
saturation; their difference over the number of requests is its cost per
request (idle work in those seconds included: uvicorn's date timer,
housekeeping). With ``--baseline REF[,REF...]`` the gateway of each git
revision runs beside this tree's, from the same upstream, and they are measured
in alternation, ``reps`` times each, so that a slow minute hits all of them:
on a shared machine the CPU time of the very same build moves with the load
(cache and core contention), so only figures from one such run compare.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from .procs import ROOT, gateway, measure, port

WARMUP = 20  # the load generator's own warm-up requests (load.load), served by the gateway too


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def source_of(ref: str, workdir: Path) -> Path:
    """The ``src/`` tree of a git revision, unpacked under ``workdir``."""
    dest = workdir / f"src-{ref.replace('/', '_')}"
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    dest.mkdir()
    tar = dest / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    return dest / "src"


def _interval(xs: list[float]) -> str:
    """Mean and a t-based 95% interval over repetitions (two-sided, df = n - 1)."""
    t95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return f"{m:.3f}"
    h = t95.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))
    return f"{m:.3f} [{m - h:.3f}, {m + h:.3f}]"


def run_cpu(upstream: str, workdir: Path, procs: list[subprocess.Popen[bytes]], modes: list[str],
            rate: float, requests: int, reps: int, baselines: list[str]) -> str:
    builds: dict[str, Path | None] = {"this tree": None}
    for ref in baselines:
        builds[f"baseline {ref}"] = source_of(ref, workdir)
    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    for i, (name, src) in enumerate(builds.items()):
        gw_port = port()
        proc = gateway(upstream, gw_port, workdir, src, name=f"gateway{i}")
        procs.append(proc)
        urls[name], pids[name] = f"http://127.0.0.1:{gw_port}/v1/chat/completions", proc.pid
    per: dict[tuple[str, str], list[float]] = {(m, b): [] for m in modes for b in builds}
    errors: dict[tuple[str, str], int] = {k: 0 for k in per}
    for _ in range(reps):
        for mode in modes:
            for name in builds:
                before = cpu_seconds(pids[name])
                out: dict[str, Any] = measure(urls[name], mode, rate, requests / rate)
                time.sleep(0.3)  # a stream's end (access log, metrics) runs just after the client's read
                spent = cpu_seconds(pids[name]) - before
                per[(mode, name)].append(spent / (out["n"] + WARMUP) * 1000)
                errors[(mode, name)] += out["errors"]
    lines = ["| mode | gateway | reps × requests | errors | CPU ms / request, mean [95% CI] | per rep |",
             "|---|---|---:|---:|---:|---|"]
    for (mode, name), xs in per.items():
        lines.append(f"| {mode} | {name} | {reps} × {requests + WARMUP} | {errors[(mode, name)]} | {_interval(xs)} | "
                     + ", ".join(f"{x:.3f}" for x in xs) + " |")
    return "\n".join(lines)

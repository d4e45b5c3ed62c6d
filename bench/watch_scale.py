"""Watch scale-out throughput: sentinel ticks stored per second with 1 and 2 Dramatiq workers.

    PYTHONPATH=src .venv/bin/python bench/watch_scale.py [--candidates 40] [--seconds 60] [--workers 1,2]
        [--broker redis://127.0.0.1:6379/0] [--db postgresql://postgres@127.0.0.1:5432/test]

Real processes, as `parity watch scheduler` / `parity watch worker` run them: one scheduler and
``N`` worker processes (``--threads`` jobs each) over Redis, sharing one PostgreSQL schema (made
and dropped per run), against two fake endpoint servers on 127.0.0.1 (``python -m parity.fake``:
the reference and every candidate; answers are immediate, so the watch's own work is measured).
``--candidates`` streams tick every ``--period-s`` seconds (4 prompts + canary: 5 candidate and 10
reference requests per tick), far more than the workers can do, so the workers are the
bottleneck: the figure is the number of sentinel ticks stored per second in the steady part
of the run (from the first stored tick to the end), per worker count, side by side in one
invocation (the machine's load is shared by both) — and, load-robust, the CPU seconds the
workers and the scheduler spent per stored tick (/proc, user + system; a worker process's
threads included).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers_proc import fake_server, parity_cmd

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _config(path: Path, ref: str, cand: str, n: int, period_s: float, queue: str, threads: int) -> Path:
    eps = [f'[[endpoints]]\nname = "ref"\nbase_url = "{ref}"\nmodel = "m"\nreference = true\nmax_concurrency = 64\n']
    eps += [f'[[endpoints]]\nname = "c{i:03d}"\nbase_url = "{cand}"\nmodel = "m"\nmax_concurrency = 8\n'
            for i in range(n)]
    path.write_text("\n".join(eps) + f"""
[watch]
jitter = 0.5

[watch.sentinel]
period_minutes = {period_s / 60.0}
prompts = 4
requests_per_day = 100000000
tokens_per_day = 1000000000

[watch.engine]
queue = "{queue}"
worker_threads = {threads}
poll_s = 0.2
""")
    return path


def _count(engine: Any, since: float | None = None) -> tuple[int, float | None, float | None]:
    """Stored done sentinel ticks of candidates, and the first and last creation times (epoch s)."""
    try:
        with engine.connect() as conn:
            n, lo, hi = conn.execute(text(
                "select count(*), extract(epoch from min(created_at)), extract(epoch from max(created_at)) "
                "from watch_ticks where status = 'done' and stream = 'sentinel'")).one()
    except Exception:  # tables not created yet
        return 0, None, None
    return int(n), None if lo is None else float(lo), None if hi is None else float(hi)


def run(workers: int, args: argparse.Namespace, ref: str, cand: str) -> dict[str, Any]:
    schema = f"b_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    engine = create_engine(f"{PG}?options=-csearch_path%3D{schema}")
    procs: list[subprocess.Popen[Any]] = []
    env = {**os.environ, "PARITY_WATCH_BROKER": args.broker}
    try:
        with TemporaryDirectory() as tmp:
            cfg = _config(Path(tmp) / "parity.toml", ref, cand, args.candidates, args.period_s,
                          f"bench-{schema}", args.threads)
            for role in ["scheduler", *["worker"] * workers]:
                procs.append(subprocess.Popen(parity_cmd("watch", role, "--config", str(cfg), "--db", db),
                                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              start_new_session=True))
            t0 = time.monotonic()
            while _count(engine)[0] == 0 and time.monotonic() - t0 < 120:
                time.sleep(0.5)
            time.sleep(args.seconds)
            n, lo, hi = _count(engine)
            cpu = [_cpu_s(p.pid) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    span = (hi - lo) if lo is not None and hi is not None else 0.0
    return {"workers": workers, "threads": args.threads, "ticks": n, "span_s": span,
            "ticks_per_s": (n - 1) / span if span > 0 else 0.0,
            "demand_ticks_per_s": args.candidates / args.period_s,
            "cpu_s": {"scheduler": cpu[0], "workers": sum(cpu[1:])},
            "worker_cpu_ms_per_tick": 1000.0 * sum(cpu[1:]) / n if n else None,
            "scheduler_cpu_ms_per_tick": 1000.0 * cpu[0] / n if n else None}


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (from /proc; load-robust)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--period-s", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    out = []
    with fake_server() as ref, fake_server() as cand:
        for _ in range(args.repeats):
            for w in (int(x) for x in args.workers.split(",")):
                out.append(run(w, args, ref, cand))
                print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"runs": out, "seconds": args.seconds, "load_avg": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()

"""Dashboard: server time and page weight over 50 endpoints × 90 days of history.

    .venv/bin/python bench/dashboard.py [--backends sqlite,postgres] [--requests 200] [--tick-minutes 30]
        [--sqlite-path FILE] [--seed-only | --reuse]

The history is synthetic (tests/dashboard/history.py: 10 models × 5 endpoints,
daily runs with a toolcall and an equality verdict per endpoint, a sentinel
tick per endpoint every ``--tick-minutes`` with one stored answer each,
drifts with their transitions). Runs, verdicts and the newest days'
exchanges go through ``Store``; ticks with a transition and each endpoint's
newest tick through ``WatchStore.record_tick``; the bulk of the ticks and
their answers are inserted in batches as the same rows ``record_tick`` and
``Store.add_exchange`` write (one transaction per tick would take an hour
here). PostgreSQL: 127.0.0.1:5432, database ``test``, schema
``parity_bench_dashboard`` (dropped and re-created).

Each page is requested ``--requests`` times, one at a time, over HTTP to
uvicorn on 127.0.0.1 after 10 warm-up requests; times are to the last byte
of the response (the server's time plus loopback HTTP). p50 and p99 come
with distribution-free 95% intervals (binomial order statistics). CPU ms per
request: this process's CPU time over the measured requests (server, database
driver, SQLite itself and the HTTP client: all in this process; PostgreSQL's own
work is not in it), divided by their number; unlike wall time it does not grow
with the machine's load. Page weight: the HTML plus every static file it loads
(uPlot, dashboard.js/css). The load average is printed before and after each
backend.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from scipy.stats import binom

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from dashboard.history import NOW, Shape, seed_runs, tick_history  # noqa: E402
from dashboard.serve import serving  # noqa: E402

from parity.dashboard import create_dashboard  # noqa: E402
from parity.store import Store  # noqa: E402
from parity.store._tables import exchanges, verdicts  # noqa: E402
from parity.watch import WatchStore  # noqa: E402
from parity.watch._tables import costs, ticks  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "parity_bench_dashboard"
BATCH = 5000


def pg_url(fresh: bool) -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        if fresh:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    return f"{PG}?options=-csearch_path%3D{SCHEMA}"


def seeded(store: Store) -> bool:
    from sqlalchemy import func, select

    with store.engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(ticks)).scalar())


def _mean(xs: list[float]) -> float | None:
    """What WatchStore.record_tick stores as the tick's latency (watch.tick_latency, in SQL)."""
    return sum(xs) / len(xs) if xs else None


def _rows(store: Store, rec: Any, exs: list[Any]
          ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    tick = {"id": rec.id, "endpoint": rec.endpoint, "stream": rec.stream, "scheduled_at": rec.scheduled_at,
            "status": rec.status, "statistic": rec.statistic, "state": rec.state, "created_at": rec.scheduled_at,
            "data": rec.model_dump_json(), "latency_s": _mean([x.latency_s for x in exs if x.endpoint == rec.endpoint
                                                             and x.status.value == "ok"])}
    day = rec.scheduled_at.date().isoformat()
    cost = [{"tick_id": rec.id, "endpoint": e, "day": day, "requests": n, "tokens": t}
            for e, (n, t) in rec.costs.items()]
    ex = [{**store.exchange_row(x), "created_at": rec.scheduled_at} for x in exs]
    return tick, cost, ex


def seed(store: Store, shape: Shape) -> int:
    t = time.perf_counter()
    seed_runs(store, shape)
    ws = WatchStore(store)
    print(f"  runs and verdicts: {time.perf_counter() - t:.0f} s", flush=True)
    n, buf_t, buf_c, buf_x = 0, [], [], []  # type: ignore[var-annotated]

    def flush() -> None:
        with store.engine.begin() as conn:
            for table, rows in ((ticks, buf_t), (costs, buf_c), (exchanges, buf_x)):
                if rows:
                    conn.execute(table.insert(), rows)
                    rows.clear()

    for _ep, group in itertools.groupby(tick_history(shape), key=lambda item: item[0].endpoint):
        items = list(group)
        for i, (rec, row, tr, exs) in enumerate(items):
            n += 1
            if tr is not None or i == len(items) - 1:  # transitions and the current state: the real path
                flush()
                for x in exs:
                    store.add_exchange(x)
                ws.record_tick(rec, row, tr)
                continue
            tick, cost, ex = _rows(store, rec, exs)
            buf_t.append(tick)
            buf_c.extend(cost)
            buf_x.extend(ex)
            if len(buf_t) >= BATCH:
                flush()
    flush()
    print(f"  {n} ticks stored in {time.perf_counter() - t:.0f} s", flush=True)
    if store.engine.dialect.name == "postgresql":
        # what autovacuum does within a minute of a bulk load: planner statistics, and the
        # visibility map that lets the index-only scans skip the heap
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (ticks, exchanges, verdicts):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    return n


def uptime() -> str:
    """The machine's load as `uptime` prints it (1, 5 and 15-minute load averages)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def quantile_ci(xs: list[float], q: float) -> tuple[float, float, float]:
    """The q-quantile and a distribution-free 95% interval from binomial order statistics."""
    s = sorted(xs)
    n = len(s)
    lo = int(binom.ppf(0.025, n, q))
    hi = min(n - 1, int(binom.ppf(0.975, n, q)))
    return s[min(n - 1, int(q * n))], s[max(0, lo - 1)], s[hi]


def weight(client: httpx.Client, base: str, html: bytes) -> int:
    assets = set(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html))
    return len(html) + sum(len(client.get(base + a.decode()).content) for a in assets)


def measure(base: str, path: str, n: int) -> dict[str, Any]:
    with httpx.Client(timeout=30) as client:
        for _ in range(10):
            client.get(base + path).raise_for_status()
        times = []
        cpu = time.process_time()
        for _ in range(n):
            t = time.perf_counter()
            r = client.get(base + path)
            times.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        cpu_ms = (time.process_time() - cpu) * 1000 / n
        return {"p50": quantile_ci(times, 0.5), "p99": quantile_ci(times, 0.99), "html": len(r.content),
                "weight": weight(client, base, r.content), "n": n, "cpu": cpu_ms}


PAGES = [("overview", "/"), ("endpoint, 7 days", "/endpoints/m3-p1"),
         ("endpoint, 90 days", "/endpoints/m3-p1?range=90d"), ("compare 5, 7 days", "/compare?model=org/model-3")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--tick-minutes", type=int, default=30)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--sqlite-path", help="Keep the SQLite store here (default: a temporary file).")
    ap.add_argument("--reuse", action="store_true", help="Measure the stores a previous run seeded.")
    ap.add_argument("--seed-only", action="store_true")
    args = ap.parse_args()
    shape = Shape(models=10, per_model=5, days=args.days, tick_minutes=args.tick_minutes, exchange_days=3)
    print("| backend | page | p50 ms [95% CI] | p99 ms [95% CI] | CPU ms per request | HTML KB | page weight KB | n |")
    print("|---|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = args.sqlite_path or str(Path(tmp) / "bench.db")
                if not args.reuse and Path(url).exists():
                    Path(url).unlink()
            else:
                url = pg_url(fresh=not args.reuse)
            store = Store(url)
            if not (args.reuse and seeded(store)):
                print(f"seeding {backend}: 50 endpoints × {args.days} days, a tick every {args.tick_minutes} min",
                      file=sys.stderr, flush=True)
                seed(store, shape)
            if args.seed_only:
                store.close()
                continue
            print(f"{backend}: at the start: {uptime()} ({os.cpu_count()} CPUs)", file=sys.stderr, flush=True)
            with serving(create_dashboard(store, clock=lambda: NOW)) as base:
                for name, path in PAGES:
                    m = measure(base, path, args.requests)
                    p50, p99 = m["p50"], m["p99"]
                    print(f"| {backend} | {name} | {p50[0]:.0f} [{p50[1]:.0f}, {p50[2]:.0f}] | "
                          f"{p99[0]:.0f} [{p99[1]:.0f}, {p99[2]:.0f}] | {m['cpu']:.1f} | {m['html'] / 1024:.0f} | "
                          f"{m['weight'] / 1024:.0f} | {m['n']} |", flush=True)
            print(f"{backend}: at the end: {uptime()}", file=sys.stderr, flush=True)
            store.close()


if __name__ == "__main__":
    main()

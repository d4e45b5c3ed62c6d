"""Watch: false alarms of a healthy endpoint over simulated months (accelerated clock).

    .venv/bin/python bench/watch.py detector [--repeats 20] [--days 30] [--model sparse]
    .venv/bin/python bench/watch.py service [--days 30] [--period-minutes 5]

``detector``: the watch's own ``Monitor`` (e-CUSUM + states, levels from
``[watch]`` defaults: 30-day ARL, 1-day suspect level, 24-hour window) fed
simulated sentinel observations of a healthy candidate, ``prompts + 1``
per tick, for ``days`` of ticks, ``repeats`` independent seeded runs. Models
of a healthy candidate's observations (all symmetric about 0, as H0 says):

* ``rademacher``: ±1 — the largest variance a bounded observation can have;
* ``uniform``: uniform on [−1, 1];
* ``sparse``: 0 with probability 0.96, ±1 with 0.02 each — the pattern the
  equality bench measured for the testbed's replica (its first-token reports
  mostly coincide with the reference's; rare large differences both ways).

``service``: the whole watch loop — schedule with jitter, sentinel requests,
store, detector, states — on an accelerated clock, against two in-process
fake endpoints serving the same (fake) model with independent sampling noise;
the reference against its own past too. It measures the plumbing end to end;
the fake model's noise is not the testbed's.

Counts are of alarms (``changed``) and suspect entries per run; the rate per
30 days is given with an exact Poisson 95% interval over all simulated days.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from scipy.stats import chi2

from parity.config import parse_config
from parity.fake import Answer, Call, FakeEndpoint
from parity.store import Store
from parity.watch import Monitor, State, WatchConfig, WatchService

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MODELS: dict[str, Callable[[random.Random], float]] = {
    "rademacher": lambda r: r.choice((-1.0, 1.0)),
    "uniform": lambda r: r.uniform(-1.0, 1.0),
    "sparse": lambda r: 0.0 if r.random() < 0.96 else r.choice((-1.0, 1.0)),
}


def poisson_ci(k: int, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval for a rate: ``k`` events over ``exposure`` units."""
    low = 0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2
    high = chi2.ppf(0.975, 2 * k + 2) / 2
    return low / exposure, high / exposure


def run_detector(seed: int, days: float, period_min: float, per_tick: int, model: str) -> dict[str, Any]:
    watch = WatchConfig(sentinel={"period_minutes": period_min})  # type: ignore[arg-type]
    mon = Monitor("cand", "sentinel", watch.levels("cand"))
    rng = random.Random(seed)
    draw = MODELS[model]
    ticks = int(days * 1440 / period_min)
    alarms = suspects = 0
    top = 0.0
    for t in range(ticks):
        out = mon.observe(str(t), T0, [draw(rng) for _ in range(per_tick)])
        top = max(top, out.statistic)
        if out.transition is not None:
            alarms += out.transition.to_state is State.CHANGED
            suspects += out.transition.to_state is State.SUSPECT
    return {"seed": seed, "ticks": ticks, "alarms": alarms, "suspects": suspects, "max_statistic": top,
            "alarm": mon.levels.alarm, "warn": mon.levels.warn}


def detector(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        rows.append(run_detector(seed, args.days, args.period_minutes, args.prompts + 1, args.model))
        print(f"  run {seed}: {rows[-1]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return summarise(rows, args.repeats * args.days, {"model": args.model, "mode": "detector"})


def summarise(rows: list[dict[str, Any]], days: float, what: dict[str, Any]) -> dict[str, Any]:
    months = days / 30.0
    out = dict(what, runs=len(rows), days=days)
    for key in ("alarms", "suspects"):
        k = sum(r[key] for r in rows)
        low, high = poisson_ci(k, months)
        out[key] = {"count": k, "per_30_days": k / months, "ci95": [low, high]}
    out["max_statistic"] = max(r["max_statistic"] for r in rows)
    out["levels"] = {"alarm": rows[0]["alarm"], "warn": rows[0]["warn"]}
    out["rows"] = rows
    return out


class _Healthy:
    """A fake model: first-token reports with small sampling noise; always calls the tool."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, body: dict[str, Any]) -> Answer:
        def unit(*parts: object) -> float:
            h = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
            return int.from_bytes(h[:8], "big") / 2.0**64

        usage = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
        if body.get("tools"):
            return Answer(content=None, calls=(Call("get_weather", '{"city": "Paris"}'),), usage=usage)
        prompt = str(body["messages"][-1]["content"])
        p = 0.2 + 0.6 * unit(prompt) + 0.01 * (unit(self.name, body.get("seed")) - 0.5)
        top = [{"token": "A", "logprob": math.log(p)}, {"token": "B", "logprob": math.log(1 - p)}]
        return Answer(content="A b c d e f g h", usage=usage,
                      logprobs=[{"token": "A", "logprob": top[0]["logprob"], "top_logprobs": top}])


async def service(args: argparse.Namespace) -> dict[str, Any]:
    config = parse_config({"endpoints": [
        {"name": "ref", "base_url": "http://ref.test/v1", "model": "m", "reference": True},
        {"name": "cand", "base_url": "http://cand.test/v1", "model": "m"}]})
    watch = WatchConfig(sentinel={"period_minutes": args.period_minutes,  # type: ignore[arg-type]
                                  "prompts": args.prompts})
    apps = {n: FakeEndpoint(_Healthy(n)) for n in ("ref", "cand")}
    clock = [T0]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "watch.db"))
        svc = WatchService(config, watch, store, clock=lambda: clock[0],
                           transport=lambda e: httpx.ASGITransport(apps[e.name]))  # type: ignore[arg-type]
        end = T0 + timedelta(days=args.days)
        t0 = time.perf_counter()
        while clock[0] < end:
            await svc.run_once()
            now = clock[0]
            clock[0] = min(s.after(now).at for s in svc.schedules.values())
        await svc.aclose()
        wall = time.perf_counter() - t0
        rows = []
        for (endpoint, stream), _state in svc.states().items():
            ticks = svc.store.ticks(endpoint, stream)
            trs = [t for t in svc.store.transitions(endpoint) if t.suite == stream]
            rows.append({"seed": 0, "endpoint": endpoint, "stream": stream, "ticks": len(ticks),
                         "alarms": sum(t.to_state is State.CHANGED for t in trs),
                         "suspects": sum(t.to_state is State.SUSPECT for t in trs),
                         "max_statistic": max((t.statistic or 0.0) for t in ticks),
                         "alarm": svc.monitor(endpoint, stream).levels.alarm,
                         "warn": svc.monitor(endpoint, stream).levels.warn,
                         "requests": sum(sum(n for n, _ in t.costs.values()) for t in ticks)})
        store.close()
    out = summarise(rows, args.days * len(rows), {"mode": "service", "period_minutes": args.period_minutes})
    out["wall_s"] = wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("detector")
    d.add_argument("--repeats", type=int, default=20)
    d.add_argument("--model", choices=sorted(MODELS), default="sparse")
    s = sub.add_parser("service")
    for p in (d, s):
        p.add_argument("--days", type=float, default=30.0)
        p.add_argument("--period-minutes", type=float, default=5.0)
        p.add_argument("--prompts", type=int, default=4)
        p.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = detector(args) if args.command == "detector" else asyncio.run(service(args))
    summary = {k: v for k, v in result.items() if k != "rows"}
    print(json.dumps(summary, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

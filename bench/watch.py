"""Watch: detection delays on the real testbed, and false alarms over simulated months.

    .venv/bin/python bench/watch.py collect [--up] [--draws 12] [--canary-draws 3]
    .venv/bin/python bench/watch.py delays [--repeats 20] [--period-minutes 5] [--prompts 9] [--blackbox]
    .venv/bin/python bench/watch.py delays --greedy --no-canary [--prompts 10] [--repeats 40]
    .venv/bin/python bench/watch.py alarms [--runs 6] [--days 30] [--period-minutes 5] [--prompts 9]
    .venv/bin/python bench/watch.py alarms --greedy --no-canary [--null q3_k_m] [--runs 30]
    .venv/bin/python bench/watch.py detector [--repeats 20] [--days 30] [--model sparse]
    .venv/bin/python bench/watch.py service [--days 30] [--period-minutes 5]

``collect``: sentinel answers of the real testbed (llama.cpp, SmolLM2-135M:
reference, replica, q4_0, template, the sampling-override proxy), drawn once
into ``.parity/watchcache.sqlite`` (see ``bench/_watchreplay.py``).

``delays``: for each switch — replica → q4_0, → the wrong template, → the
sampling override, and a misrouting window sending 10% of the candidate's
requests to another pool — ``repeats`` seeded runs: a healthy replica for
``--warmup-hours``, the switch at a uniformly random moment of the next tick
period, then ticks until the watch's ``Monitor`` says ``changed``. Answers
are resampled from the cache and fed through the watch's own ``observe`` and
``Monitor`` on the schedule's simulated clock (``Ticks`` with jitter). The
delay is from the switch to the scheduled time of the alarming tick.

``--greedy`` (``delays``, ``alarms``): the greedy odd-one-out black-box sentinel
(``SentinelDesign(blackbox="greedy")``), its answers resampled from the equality suite's greedy
pools (``bench/blackbox_pools.py``, ``.parity/eqcache.sqlite``; all 56 prompts, no canary);
``alarms --null POOL`` replays that pool against itself (a noisy null) instead of the replica.

``alarms``: a healthy replica (cached replica answers against cached
reference answers) for ``runs`` × ``days`` simulated days: false alarms
(``changed``) and suspect entries.

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
import dataclasses
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

from parity.config import parse_config
from parity.fake import Answer, Call, FakeEndpoint
from parity.store import Store
from parity.suites.equality import PROMPTS
from parity.watch import Levels, Monitor, SentinelDesign, State, Ticks, WatchConfig, WatchService

from _watchstats import quantile_ci, summarise  # isort: skip
from _watchreplay import (  # isort: skip
    GREEDY_VARIANTS, VARIANTS, GreedyPools, Pools, Source, count_alarms, greedy_tick_observations, pool_design,
    run_collect,
    tick_observations)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MODELS: dict[str, Callable[[random.Random], float]] = {
    "rademacher": lambda r: r.choice((-1.0, 1.0)),
    "uniform": lambda r: r.uniform(-1.0, 1.0),
    "sparse": lambda r: 0.0 if r.random() < 0.96 else r.choice((-1.0, 1.0)),
}


def run_detector(seed: int, days: float, period_min: float, per_tick: int, model: str) -> dict[str, Any]:
    watch = WatchConfig(sentinel={"period_minutes": period_min})  # type: ignore[arg-type]
    mon = Monitor("cand", "sentinel", watch.levels("cand"))
    rng = random.Random(seed)
    draw = MODELS[model]
    ticks = int(days * 1440 / period_min)
    counts = count_alarms(mon, ((str(t), T0, [draw(rng) for _ in range(per_tick)]) for t in range(ticks)))
    return {"seed": seed, **counts}


def detector(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        rows.append(run_detector(seed, args.days, args.period_minutes, args.prompts + 1, args.model))
        print(f"  run {seed}: {rows[-1]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return summarise(rows, args.repeats * args.days, {"model": args.model, "mode": "detector"})


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


CACHE = Path(__file__).resolve().parent.parent / ".parity" / "watchcache.sqlite"
GREEDY_CACHE = CACHE.with_name("eqcache.sqlite")  # bench/blackbox_pools.py
SWITCHES: dict[str, Callable[[float], Source]] = {
    # name -> (share) -> which pool answers a candidate request after the switch
    "q4_0": lambda _s: lambda _r: "q4_0",
    "template": lambda _s: lambda _r: "template",
    "sampling_override": lambda _s: lambda _r: "sampling_override",
    "misroute_q4_0": lambda s: lambda r: "q4_0" if r.random() < s else "replica",
    "misroute_template": lambda s: lambda r: "template" if r.random() < s else "replica",
}
HEALTHY: Source = lambda _r: "replica"  # noqa: E731


def _watch_config(args: argparse.Namespace) -> WatchConfig:
    return WatchConfig(sentinel={"period_minutes": args.period_minutes,  # type: ignore[arg-type]
                                 "prompts": args.prompts, "canary": not args.no_canary})


def _levels(args: argparse.Namespace) -> Levels:
    levels = _watch_config(args).levels("candidate")
    if args.bets is None:
        return levels
    bets = () if args.bets == "none" else tuple(float(b) for b in args.bets.split(","))
    return dataclasses.replace(levels, bets=bets)


def _design(args: argparse.Namespace, seed: int) -> SentinelDesign:
    # The design's prompts: a seeded subset of the cached ones (each repeat its own watch seed).
    if getattr(args, "greedy", False):  # the greedy pools hold all 56 prompts; no canary answers
        cached = [pid for pid, _ in PROMPTS]
        return SentinelDesign(prompts=tuple(random.Random(seed).sample(cached, args.prompts)),
                              canary=False, seed=seed, blackbox="greedy")
    cached = list(pool_design().prompts)
    return SentinelDesign(prompts=tuple(random.Random(seed).sample(cached, args.prompts)),
                          canary=not args.no_canary, seed=seed)


Observer = Callable[[SentinelDesign, Source, random.Random], list[float]]


def _observer(args: argparse.Namespace, pools: list[str]) -> tuple[Observer, dict[str, int], dict[str, int]]:
    """How a tick is observed (logprob/Hamming replay or greedy pools); answers and noisy prompts per pool."""
    if args.greedy:
        if not args.no_canary:
            raise SystemExit("--greedy: the greedy pools hold no canary answers; pass --no-canary")
        gp = GreedyPools.load(args.greedy_cache, pools)
        ref = getattr(args, "null", None) or "reference"
        return (lambda d, src, rng: greedy_tick_observations(d, gp, src, rng, ref),
                {p: gp.count(p) for p in pools}, {p: gp.noisy(p) for p in pools})
    lp = Pools.load(args.cache, args.draws, args.canary_draws, pools, blackbox=args.blackbox)
    return (lambda d, src, rng: tick_observations(d, lp, src, rng), {p: lp.count(p) for p in pools}, {})


def _mode(args: argparse.Namespace) -> str:
    return "greedy" if args.greedy else "blackbox" if args.blackbox else "logprobs"


def delay_run(args: argparse.Namespace, observer: Observer, switch: str, seed: int) -> dict[str, Any]:
    watch = _watch_config(args)
    rng = random.Random(f"{switch}/{seed}")
    design = _design(args, seed)
    period = args.period_minutes * 60.0
    sched = Ticks("candidate", "sentinel", period, watch.jitter, seed)
    mon = Monitor("candidate", "sentinel", _levels(args))
    change = T0 + timedelta(hours=args.warmup_hours, seconds=rng.uniform(0.0, period))
    end = change + timedelta(hours=args.horizon_hours)
    after = SWITCHES[switch](args.share)
    row: dict[str, Any] = {"seed": seed, "false_before": 0, "delay_min": None, "suspect_min": None,
                           "ticks_after": 0, "observations_after": 0}
    for tick in sched.between(T0, end):
        switched = tick.at >= change
        obs = observer(design, after if switched else HEALTHY, rng)
        out = mon.observe(tick.id, tick.at, obs)
        if switched:
            row["ticks_after"] += 1
            row["observations_after"] += len(obs)
        to = out.transition.to_state if out.transition is not None else None
        if to is State.SUSPECT and switched and row["suspect_min"] is None:
            row["suspect_min"] = (tick.at - change).total_seconds() / 60.0
        if to is State.CHANGED:
            if not switched:
                row["false_before"] += 1
                continue
            row["delay_min"] = (tick.at - change).total_seconds() / 60.0
            row["statistic"] = out.statistic
            break
    return row


def delays(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    names = list(SWITCHES) if args.switches == "all" else args.switches.split(",")
    observer, cached, noisy = _observer(args, list(VARIANTS))
    levels = _levels(args)
    per_tick = args.prompts + (0 if args.no_canary else 1)
    out: dict[str, Any] = {"mode": _mode(args), "noisy_prompts": noisy,
                           "period_minutes": args.period_minutes, "prompts": args.prompts,
                           "canary": not args.no_canary, "requests_per_minute": per_tick / args.period_minutes,
                           "reference_requests_per_minute": 2 * per_tick / args.period_minutes,
                           "levels": {"alarm": levels.alarm, "warn": levels.warn, "window": levels.window,
                                      "bets": list(levels.bets)},
                           "repeats": args.repeats, "warmup_hours": args.warmup_hours,
                           "horizon_hours": args.horizon_hours, "share": args.share,
                           "cached": cached, "switches": {}}
    for name in names:
        t1 = time.perf_counter()
        rows = [delay_run(args, observer, name, seed) for seed in range(args.repeats)]
        xs = [r["delay_min"] if r["delay_min"] is not None else math.inf for r in rows]
        med, p90 = quantile_ci(xs, 0.5), quantile_ci(xs, 0.9)
        detected = sum(r["delay_min"] is not None for r in rows)
        out["switches"][name] = {"median_min": med, "p90_min": p90, "detected": detected,
                                 "false_before": sum(r["false_before"] for r in rows),
                                 "wall_s": time.perf_counter() - t1, "rows": rows}
        print(f"  {name}: median {med}, p90 {p90}, detected {detected}/{len(rows)} "
              f"({time.perf_counter() - t1:.0f} s)", file=sys.stderr, flush=True)
    out["wall_s"] = time.perf_counter() - t0
    return out


def alarm_run(args: argparse.Namespace, observer: Observer, seed: int) -> dict[str, Any]:
    watch = _watch_config(args)
    rng = random.Random(f"healthy/{seed}")
    design = _design(args, seed)
    sched = Ticks("candidate", "sentinel", args.period_minutes * 60.0, watch.jitter, seed)
    mon = Monitor("candidate", "sentinel", _levels(args))
    null = getattr(args, "null", None)
    healthy: Source = HEALTHY if null is None else (lambda _r: null)
    ticks = sched.between(T0, T0 + timedelta(days=args.days))
    counts = count_alarms(mon, ((k.id, k.at, observer(design, healthy, rng)) for k in ticks))
    return {"seed": seed, **counts}


def alarms(args: argparse.Namespace) -> dict[str, Any]:
    observer, cached, noisy = _observer(args, ["reference", "replica"] + ([args.null] if args.null else []))
    rows = []
    t0 = time.perf_counter()
    for seed in range(args.runs):
        t1 = time.perf_counter()
        rows.append(alarm_run(args, observer, seed))
        print(f"  run {seed}: {rows[-1]} ({time.perf_counter() - t1:.0f} s)", file=sys.stderr, flush=True)
    out = summarise(rows, args.runs * args.days,
                    {"mode": "testbed replay, " + _mode(args), "null": args.null or "replica",
                     "cached": cached, "noisy_prompts": noisy,
                     "period_minutes": args.period_minutes, "prompts": args.prompts,
                     "canary": not args.no_canary, "bets": list(_levels(args).bets)})
    out["wall_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--up", action="store_true", help="start the testbed (and stop it after)")
    c.add_argument("--run-dir", type=Path, default=Path(".parity/testbed"))
    c.add_argument("--concurrency", type=int, default=4)
    c.add_argument("--pools", default=",".join(VARIANTS))
    dl = sub.add_parser("delays")
    dl.add_argument("--repeats", type=int, default=20)
    dl.add_argument("--switches", default="all", help=f"comma-separated of {', '.join(SWITCHES)}")
    dl.add_argument("--share", type=float, default=0.1, help="misrouted share")
    dl.add_argument("--warmup-hours", type=float, default=6.0)
    dl.add_argument("--horizon-hours", type=float, default=48.0)
    al = sub.add_parser("alarms")
    al.add_argument("--runs", type=int, default=6)
    al.add_argument("--null", default=None, choices=sorted(GREEDY_VARIANTS),
                    help="--greedy: this pool against itself (a noisy null) instead of replica vs reference")
    for p in (c, dl, al):
        p.add_argument("--cache", type=Path, default=CACHE)
        p.add_argument("--draws", type=int, default=12)
        p.add_argument("--canary-draws", type=int, default=3)
    for p in (dl, al):
        p.add_argument("--blackbox", action="store_true", help="answers without their logprobs")
        p.add_argument("--greedy", action="store_true", help="the greedy odd-one-out black-box sentinel, "
                       "replayed from the equality suite's greedy pools (needs --no-canary)")
        p.add_argument("--greedy-cache", type=Path, default=GREEDY_CACHE)
        p.add_argument("--no-canary", action="store_true")
        p.add_argument("--bets", default=None, help="the detector's constant bets, e.g. 0.5,0.9, or "
                       "none (default: the watch's)")
        p.add_argument("--period-minutes", type=float, default=5.0)
        p.add_argument("--prompts", type=int, default=9)
        p.add_argument("--json", type=Path, default=None)
    al.add_argument("--days", type=float, default=30.0)
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
    if args.command == "collect":
        t0 = time.perf_counter()
        sent = run_collect(args.cache, args.run_dir, args.up, args.draws, args.canary_draws,
                           args.pools.split(","), args.concurrency)
        print(json.dumps({"sent": sent, "wall_s": time.perf_counter() - t0}))
        return
    runners: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
        "detector": detector, "delays": delays, "alarms": alarms,
        "service": lambda a: asyncio.run(service(a))}
    result = runners[args.command](args)
    def strip(x: Any) -> Any:
        return {k: strip(v) for k, v in x.items() if k != "rows"} if isinstance(x, dict) else x

    summary = strip(result)
    print(json.dumps(summary, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

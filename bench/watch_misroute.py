"""Misrouting windows: the watch's detector against two others, on replayed (or modelled) answers.

    .venv/bin/python bench/watch_misroute.py delays --model [--repeats 40] [--period-minutes 5] [--prompts 10]
        [--controls 19] [--warmup-hours 24]
    .venv/bin/python bench/watch_misroute.py alarms --model [--runs 10] [--days 30] [--controls 19]
    (without --model: bench/watch.py's cache of real testbed answers; --controls <= 10 there)

Per tick and prompt: the reference's anchor ``a`` and control ``x`` and the candidate's ``y``
(fresh draws of :class:`Model`, or three distinct cached draws as bench/watch.py resamples
them); after a switch, each candidate request goes to the other pool with probability
``share`` (1 for a whole switch, 0.1 for a misrouting window). Three detectors see the same ticks:

* ``watch``: the watch's own ``Monitor`` (e-CUSUM, default bets) on
  ``g = clip((D(a, y) − D(a, x)) / 0.05, −1, 1)`` — what the sentinel observes;
* ``conformal``: :class:`_watchconformal.ConformalCusum` on the tick score ``Σ_i D(a_i, y_i)``
  (null: stationarity);
* ``controls`` (``--controls K``): the watch's own K-controls detector (``[watch.sentinel] controls``:
  :class:`parity.watch.EvalueDetector` on :func:`parity.watch.rank_evalue`) — the rank e-values of
  ``D(a, y)`` among ``K`` fresh reference controls ``D(a, x_k)`` per request (the watch's null;
  the reference answers ``K + 1`` more times per candidate request).

``delays``: ``--warmup-hours`` healthy, the switch at a random moment of the next period, the delay
to each detector's alarm; medians and p90 with distribution-free 95% intervals over ``repeats``.
``alarms``: healthy only, ``runs`` × ``days``; alarms per 30 days with exact Poisson intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from parity.stats import topk_tv_lower_bound
from parity.suites.equality._samples import to_sample
from parity.watch import Monitor, State, Ticks, WatchConfig, rank_evalue

from _watchconformal import ConformalCusum  # isort: skip
from _watchreplay import VARIANTS, Pools, _exchange, pool_design  # isort: skip
from _watchstats import poisson_ci, quantile_ci  # isort: skip

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CACHE = Path(__file__).resolve().parent.parent / ".parity" / "watchcache.sqlite"
SWITCHES = {"q4_0": ("q4_0", 1.0), "template": ("template", 1.0), "sampling_override": ("sampling_override", 1.0),
            "misroute_q4_0": ("q4_0", 0.1), "misroute_template": ("template", 0.1)}
DETECTORS = ("watch", "conformal", "controls")


def tv_tables(pools: Pools, prompts: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """pool -> prompt -> D[i, m]: TV lower bound between reference draw i and the pool's draw m."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for pool in pools.answers:
        out[pool] = {}
        for pid in prompts:
            ref = [to_sample(_exchange(c, "r", f"{pid}#0"), 0) for c in pools.answers["reference"][pid]]
            oth = [to_sample(_exchange(c, "c", f"{pid}#0"), 0) for c in pools.answers[pool][pid]]
            d = np.zeros((len(ref), len(oth)))
            for i, a in enumerate(ref):
                for m, y in enumerate(oth):
                    assert a is not None and y is not None and a.first_top and y.first_top
                    d[i, m] = topk_tv_lower_bound(a.first_top, y.first_top)
            out[pool][pid] = d
    return out


class Model:
    """Fresh draws from a model of the testbed's first-token reports (``--model``; no cache needed).

    Each answer's report is a point on a line; ``D`` is the distance between two reports. From
    what the cached answers showed (docs/benchmarks.md): a reference or replica answer reports
    the prompt's distribution exactly, except with probability 1/192 (one draw of 12 on one
    prompt of 16) when it is off by 0.05–0.3 — as far as a misrouted answer, the worst case for
    telling them apart; a q4_0, template or sampling-override answer is off by a per-prompt
    amount (q4_0 0.02–0.2, template 0.1–0.6, sampling override 0.05–0.5) plus up to 0.01.
    """

    ODD = 1.0 / 192
    SPANS: ClassVar[dict[str, tuple[float, float]]] = {
        "q4_0": (0.02, 0.2), "template": (0.1, 0.6), "sampling_override": (0.05, 0.5)}

    def __init__(self, seed: int = 0, prompts: int = 16) -> None:
        rng = random.Random(seed)
        self.prompts = [f"p{k:02d}" for k in range(prompts)]
        self.offsets = {pool: {pid: rng.uniform(lo, hi) for pid in self.prompts}
                        for pool, (lo, hi) in self.SPANS.items()}

    def report(self, pool: str, pid: str, rng: random.Random) -> float:
        if pool in self.offsets:
            return self.offsets[pool][pid] + rng.uniform(0.0, 0.01)
        return rng.uniform(0.05, 0.3) if rng.random() < self.ODD else 0.0

    def pair(self, pool: str, pid: str, rng: random.Random) -> tuple[float, float]:
        """``(D(a, y), D(a, x))``: anchor and control from the reference, ``y`` from ``pool``."""
        a, x, y = (self.report(p, pid, rng) for p in ("reference", "reference", pool))
        return abs(a - y), abs(a - x)

    def controls(self, pool: str, pid: str, k: int, rng: random.Random) -> tuple[float, list[float]]:
        """``(D(a, y), [D(a, x_1), ..., D(a, x_k)])``: ``k`` fresh reference controls."""
        a, y = self.report("reference", pid, rng), self.report(pool, pid, rng)
        return abs(a - y), [abs(a - self.report("reference", pid, rng)) for _ in range(k)]


class Tables:
    """Resampled cached answers: three distinct cached draws per prompt, as bench/watch.py."""

    def __init__(self, tables: Source) -> None:
        self.tables, self.prompts = tables, sorted(tables["reference"])

    def pair(self, pool: str, pid: str, rng: random.Random) -> tuple[float, float]:
        ref, cand = self.tables["reference"][pid], self.tables[pool][pid]
        i, j, m = rng.sample(range(min(ref.shape[1], cand.shape[1])), 3)
        return float(cand[i, m]), float(ref[i, j])

    def controls(self, pool: str, pid: str, k: int, rng: random.Random) -> tuple[float, list[float]]:
        ref, cand = self.tables["reference"][pid], self.tables[pool][pid]
        i, *js = rng.sample(range(ref.shape[1]), k + 1)
        m = rng.choice([d for d in range(cand.shape[1]) if d != i and d not in js] or [i])
        return float(cand[i, m]), [float(ref[i, j]) for j in js]


Source = Model | Tables


class Run:
    """One seeded replay: the detectors fed the same ticks."""

    def __init__(self, args: argparse.Namespace, source: Source, seed: int, tag: str) -> None:
        self.source, self.rng, self.k = source, random.Random(f"{tag}/{seed}"), args.controls
        self.prompts = random.Random(seed).sample(source.prompts, args.prompts)
        watch = WatchConfig(sentinel={"period_minutes": args.period_minutes})  # type: ignore[arg-type]
        levels = watch.levels("candidate")
        self.sched = Ticks("candidate", "sentinel", args.period_minutes * 60.0, watch.jitter, seed)
        self.watch = Monitor("candidate", "sentinel", levels)
        self.conformal = ConformalCusum(levels.alarm, levels.window, seed=seed)
        self.controls = Monitor("candidate", "sentinel", levels, controls=max(2, self.k))

    def step(self, tick_id: str, at: datetime, pool: str, share: float) -> dict[str, bool]:
        obs, score, evalues = [], 0.0, []
        for pid in self.prompts:
            src = pool if self.rng.random() < share else "replica"
            d_ay, d_ax = self.source.pair(src, pid, self.rng)
            obs.append(min(max((d_ay - d_ax) / 0.05, -1.0), 1.0))
            score += d_ay
            if self.k:
                d_y, ctl = self.source.controls(src, pid, self.k, self.rng)
                evalues.append(rank_evalue(d_y, ctl))
        out = self.watch.observe(tick_id, at, obs)
        fired = {"watch": out.transition is not None and out.transition.to_state is State.CHANGED,
                 "conformal": self.conformal.tick(score) >= self.conformal.alarm}
        if self.k:
            ctl = self.controls.observe(tick_id, at, evalues)
            fired["controls"] = ctl.transition is not None and ctl.transition.to_state is State.CHANGED
        return fired


def delay_run(args: argparse.Namespace, tables: Source, switch: str,
              seed: int) -> dict[str, Any]:
    run = Run(args, tables, seed, switch)
    pool, share = SWITCHES[switch]
    period = args.period_minutes * 60.0
    change = T0 + timedelta(hours=args.warmup_hours, seconds=run.rng.uniform(0.0, period))
    end = change + timedelta(hours=args.horizon_hours)
    row: dict[str, Any] = {"seed": seed, **{f"{d}_min": None for d in DETECTORS},
                           **{f"{d}_false": 0 for d in DETECTORS}}
    for tick in run.sched.between(T0, end):
        switched = tick.at >= change
        fired = run.step(tick.id, tick.at, pool if switched else "replica", share if switched else 1.0)
        for d in fired:
            if fired[d] and not switched:
                row[f"{d}_false"] += 1
            elif fired[d] and row[f"{d}_min"] is None:
                row[f"{d}_min"] = (tick.at - change).total_seconds() / 60.0
        if switched and all(row[f"{d}_min"] is not None for d in fired):
            break
    return row


def delays(args: argparse.Namespace, tables: Source) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": "delays", "period_minutes": args.period_minutes, "prompts": args.prompts,
                           "requests_per_minute": args.prompts / args.period_minutes,
                           "reference_requests_per_minute": (2 + args.controls) * args.prompts / args.period_minutes,
                           "controls": args.controls,
                           "warmup_hours": args.warmup_hours, "horizon_hours": args.horizon_hours,
                           "repeats": args.repeats, "switches": {}}
    names = list(SWITCHES) if args.switches == "all" else args.switches.split(",")
    for name in names:
        t0 = time.perf_counter()
        rows = [delay_run(args, tables, name, seed) for seed in range(args.repeats)]
        out.setdefault("rows", {})[name] = rows
        cell: dict[str, Any] = {}
        for d in [d for d in DETECTORS if d != "controls" or args.controls]:
            xs = [r[f"{d}_min"] if r[f"{d}_min"] is not None else math.inf for r in rows]
            cell[d] = {"median_min": quantile_ci(xs, 0.5), "p90_min": quantile_ci(xs, 0.9),
                       "detected": sum(x < math.inf for x in xs),
                       "false_before": sum(r[f"{d}_false"] for r in rows)}
        out["switches"][name] = cell
        print(f"  {name} ({time.perf_counter() - t0:.0f} s): "
              + "; ".join(f"{d} median {c['median_min']} p90 {c['p90_min']}" for d, c in cell.items()),
              file=sys.stderr, flush=True)
    return out


def alarms(args: argparse.Namespace, tables: Source) -> dict[str, Any]:
    counts = dict.fromkeys([d for d in DETECTORS if d != "controls" or args.controls], 0)
    t0 = time.perf_counter()
    for seed in range(args.runs):
        run = Run(args, tables, seed, "healthy")
        for tick in run.sched.between(T0, T0 + timedelta(days=args.days)):
            for d, f in run.step(tick.id, tick.at, "replica", 1.0).items():
                counts[d] += f
        print(f"  run {seed}: {counts} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    months = args.runs * args.days / 30.0
    return {"mode": "alarms", "period_minutes": args.period_minutes, "prompts": args.prompts,
            "runs": args.runs, "days": args.runs * args.days,
            "alarms": {d: {"count": k, "per_30_days": k / months, "ci95": poisson_ci(k, months)}
                       for d, k in counts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("delays", "alarms"))
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--draws", type=int, default=12)
    parser.add_argument("--period-minutes", type=float, default=5.0)
    parser.add_argument("--prompts", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--switches", default="all")
    parser.add_argument("--warmup-hours", type=float, default=24.0)
    parser.add_argument("--horizon-hours", type=float, default=48.0)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--controls", type=int, default=0, help="K reference controls per candidate request "
                        "for the rank e-value detector (0: off)")
    parser.add_argument("--model", action="store_true", help="a model of the cache's tables (model_tables), "
                        "not the cached answers")
    args = parser.parse_args()
    t0 = time.perf_counter()
    tables: Source
    if args.model:
        tables = Model()
    else:
        pools = Pools.load(args.cache, args.draws, 3, list(VARIANTS))
        tables = Tables(tv_tables(pools, list(pool_design().prompts)))
    print(f"  tables: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    result = (delays if args.command == "delays" else alarms)(args, tables)
    result["wall_s"] = time.perf_counter() - t0
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

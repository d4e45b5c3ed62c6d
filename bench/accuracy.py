"""Accuracy on the testbed: every variant against the reference, the equality suite side by side,
the replica's false-fail calibration, and speed figures.

    .venv/bin/python bench/accuracy.py [--up] [--temperature 0] [--k 1] [--pool 2]
                                       [--calibration-runs 200] [--speed-per-length 30]
                                       [--variants replica,q8,q4_0,q3_k_m,q2,template]

1. **One run, two suites**: ``accuracy`` (builtin tasks, k answers per item, sequential) and
   ``equality`` (default budget 100) over the reference and every variant, in one Runner run;
   per variant: accuracy with its item-clustered interval, the item-paired difference (t and
   anytime intervals), the verdict, and the candidate requests each suite spent to its verdict.
2. **Calibration**: the reference and the replica each answer every item ``--pool`` times
   (the run's first k included: request r of an item is the same body whatever k); each
   simulated run draws a random item order and k of the pool per item and side, without
   replacement, and takes the suite's decision. The false-fail rate is the share of FAIL
   verdicts, with a Wilson interval. Also the reference against itself (its pool split in two).
3. **Speed**: the speed suite (streamed, concurrency 1 per endpoint) on the reference and
   every variant in one run, uncached: all measured at the same time, under the same
   background load. Each endpoint declares the testbed's context per slot (``--context``,
   4096 / 8 slots = 512 tokens), so lengths that cannot fit are not sent.

Chat answers of steps 1-2 are cached by body (bench/_eqcache.py): llama-server answers a
seeded request deterministically, so a re-run reuses them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from _eqcache import CachingTransport, prefetch, testbed

from parity.case import body_hash
from parity.config import parse_config
from parity.runner import Runner
from parity.stats import wilson
from parity.store import Store
from parity.suites.accuracy import AccuracySuite, Design, Sampling, decide, score
from parity.suites.equality import EqualitySuite
from parity.suites.speed import SpeedSuite
from parity.verdict import Verdict

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ["replica", "q8", "q4_0", "q3_k_m", "q2", "template"]


def _config(urls: dict[str, str], names: list[str], seed: int, context: int | None = None) -> Any:
    eps = [{"name": n, "base_url": urls[n], "model": "smollm2", "reference": n == "reference",
            "max_concurrency": 4, "timeout_s": 600.0, "max_attempts": 3,
            **({"declared": {"context_length": context}} if context else {})} for n in ["reference", *names]]
    return parse_config({"endpoints": eps, "run": {"seed": seed}})


async def same_run(urls: dict[str, str], names: list[str], suites: list[Any], seed: int,
                   cache: Path | None, workdir: Path, context: int | None = None) -> list[Verdict]:
    cfg = _config(urls, names, seed, context)
    store = Store(str(workdir / f"run-{'-'.join(s.name for s in suites)}.db"))
    transports = {e.name: CachingTransport(cache, e.name) for e in cfg.endpoints} if cache else {}
    try:
        result = await Runner(cfg, suites, store, transport=lambda e: transports.get(e.name),
                              new_run=True).run()
    finally:
        store.close()
    return result.verdicts


def _cached_scores(cache: Path, variant: str, suite: AccuracySuite, bodies: list[tuple[str, dict[str, Any]]]
                   ) -> dict[str, list[float]]:
    import sqlite3

    db = sqlite3.connect(cache)
    out: dict[str, list[float]] = {}
    for item, body in bodies:
        row = db.execute("select body from answers where variant=? and key=?",
                         (variant, body_hash(body))).fetchone()
        if row is None:
            continue
        msg = orjson.loads(row[0])["choices"][0]["message"]
        task = suite.by_id[item]
        out.setdefault(item, []).append(score(task.scorer, msg.get("content") or "", task.answer, task.choices))
    return out


async def pools(urls: dict[str, str], suite: AccuracySuite, pool: int, seed: int, cache: Path
                ) -> dict[str, dict[str, list[float]]]:
    """Each of reference and replica answers every item ``pool`` times (cached)."""
    big = AccuracySuite(tasks=suite.tasks, k=pool, batch=suite.batch, limit=suite.limit,
                        sampling=suite.sampling)
    from parity.config import RunSettings

    plan = big.plan(RunSettings(seed=seed))
    out = {}
    for name in ("reference", "replica"):
        cases = plan.cases(big.sampling, seed, name, 0, len(plan.items))
        bodies = [(c.expected["item"], c.body) for c in cases]
        await prefetch(cache, name, urls[name], [b for _, b in bodies], concurrency=4)
        out[name] = _cached_scores(cache, name, big, bodies)
    return out


def calibrate(ref_pool: dict[str, list[float]], cand_pool: dict[str, list[float]], suite: AccuracySuite,
              k: int, runs: int, seed: int, split: bool = False) -> dict[str, Any]:
    """False-fail rate over simulated runs drawn from the pools (``split``: one pool, two halves)."""
    items = [i for i in ref_pool if len(ref_pool[i]) >= (2 * k if split else k)
             and (split or len(cand_pool.get(i, [])) >= k)]
    n, b = len(items), suite.batch
    design = Design(alpha=0.05, margin=0.1, looks=(*range(b, n, b), n), k=k)
    rng = np.random.default_rng(seed)
    counts = {"fail": 0, "pass": 0, "inconclusive": 0}
    spent = []
    for _ in range(runs):
        order = [items[j] for j in rng.permutation(len(items))]
        ref, cand = {}, {}
        for i in order:
            if split:
                draw = rng.permutation(ref_pool[i])[: 2 * k]
                ref[i], cand[i] = list(draw[:k]), list(draw[k:])
            else:
                ref[i] = list(rng.permutation(ref_pool[i])[:k])
                cand[i] = list(rng.permutation(cand_pool[i])[:k])
        d = decide(order, ref, cand, design, len(order))
        counts[d.outcome] += 1
        spent.append((d.stopped_at or len(order)) * k)
    est = wilson(counts["fail"], runs)
    return {"runs": runs, "items": len(items), "k": k, **counts, "false_fail": est.model_dump(),
            "median_requests": float(np.median(spent))}


def _cell(v: Verdict | None, key: str, digits: int = 3) -> str:
    if v is None or key not in v.metrics:
        return "–"
    return v.metrics[key].fmt(digits)


def report(acc: dict[str, Verdict], eq: dict[str, Verdict], calib: dict[str, Any], speed: dict[str, Verdict],
           args: argparse.Namespace) -> None:
    print(f"# accuracy bench, {datetime.date.today()}: {args.tasks}, k = {args.k}, "
          f"temperature {args.temperature}, top_p {args.top_p}, α = 0.05, margin 0.10")
    ref = acc["reference"]
    print(f"\nreference accuracy: {_cell(ref, 'accuracy')} (items; {ref.requests} requests)\n")
    print("| variant | accuracy [95% CI] | Δ paired [95% t CI] | Δ anytime [90% CS] | accuracy verdict | "
          "requests | equality verdict | requests |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.variants:
        a, e = acc[n], eq.get(n)
        print(f"| {n} | {_cell(a, 'accuracy')} | {_cell(a, 'difference')} | {_cell(a, 'difference_anytime')} | "
              f"{a.verdict.value} (e = {a.e_value or 0:.3g}) | {a.requests} | "
              f"{e.verdict.value if e else '–'} | {e.requests if e else '–'} |")
    for label, c in calib.items():
        f = c["false_fail"]
        print(f"\ncalibration ({label}): {c['fail']} FAIL of {c['runs']} simulated runs "
              f"({c['items']} items, k = {c['k']}): false-fail rate {100 * f['value']:.1f}% "
              f"[{100 * f['low']:.1f}, {100 * f['high']:.1f}] (Wilson 95%); pass {c['pass']}, "
              f"inconclusive {c['inconclusive']}; median requests {c['median_requests']:.0f}")
    if speed:
        cols = [(f"{m}.{q}[{b}]", d) for b in ("≤128", "129–512", "513–2048")
                for m, d in (("ttft_s", 3), ("tokens_per_s", 1)) for q in ("p50", "p90")]
        print("\n| variant | " + " | ".join(c for c, _ in cols) + " | speed verdict | notes |")
        print("|---|" + "---|" * (len(cols) + 2))
        for n in ["reference", *args.variants]:
            v = speed.get(n)
            if v is None:
                continue
            notes = "; ".join(r for r in v.reasons if r.startswith("length"))
            print(f"| {n} | " + " | ".join(_cell(v, c, d) for c, d in cols) +
                  f" | {v.verdict.value} | {notes} |")


async def measure(args: argparse.Namespace, urls: dict[str, str]) -> dict[str, Any]:
    suite = AccuracySuite(tasks=args.tasks, k=args.k, limit=args.limit,
                          sampling=Sampling(temperature=args.temperature, top_p=args.top_p))
    with tempfile.TemporaryDirectory() as tmp:
        suites = [suite] if args.no_equality else [suite, EqualitySuite()]
        verdicts = await same_run(urls, args.variants, suites, args.seed, args.cache, Path(tmp))
        print("accuracy + equality run: done", flush=True)
        calib: dict[str, Any] = {}
        if args.calibration_runs and "replica" in args.variants:
            p = await pools(urls, suite, args.pool, args.seed, args.cache)
            calib["replica vs reference"] = calibrate(p["reference"], p["replica"], suite, args.k,
                                                      args.calibration_runs, args.seed)
            calib["reference vs itself"] = calibrate(p["reference"], {}, suite, args.k,
                                                     args.calibration_runs, args.seed + 1, split=True)
            print("calibration: done", flush=True)
        speed: list[Verdict] = []
        if args.speed_per_length:
            # Every endpoint at once, one request in flight each: same background load for all.
            speed = await same_run(urls, args.variants, [SpeedSuite(per_length=args.speed_per_length)],
                                   args.seed, None, Path(tmp), context=args.context)
            print("speed: done", flush=True)
    pick = lambda s: {v.endpoint: v for v in verdicts if v.suite == s}  # noqa: E731
    return {"accuracy": pick("accuracy"), "equality": pick("equality"), "calibration": calib,
            "speed": {v.endpoint: v for v in speed}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--tasks", default="builtin")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--k", type=int, default=None, help="answers per item (default: the suite's)")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--context", type=int, default=512, help="declared context_length (speed)")
    ap.add_argument("--no-equality", action="store_true", help="accuracy suite alone")
    ap.add_argument("--pool", type=int, default=None, help="answers per item in the calibration pools "
                    "(default 2k: the reference's pool can be split in two)")
    ap.add_argument("--calibration-runs", type=int, default=200)
    ap.add_argument("--speed-per-length", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "acccache.sqlite")
    ap.add_argument("--up", action="store_true", help="start the variants (and stop them after)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    args.k = args.k or Sampling(temperature=args.temperature).default_repeats()
    args.pool = args.pool or 2 * args.k
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    with testbed(args.run_dir, ["reference", *args.variants], args.up) as urls:
        out = asyncio.run(measure(args, urls))
    report(out["accuracy"], out["equality"], out["calibration"], out["speed"], args)
    if args.json:
        dump = {k: ({n: v.model_dump(mode="json") for n, v in out[k].items()} if k != "calibration" else out[k])
                for k in out}
        args.json.write_text(json.dumps(dump, indent=1, default=str))


if __name__ == "__main__":
    main()

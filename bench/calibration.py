"""Equality suite calibration: how often does it fail an endpoint that serves the reference's model?

    .venv/bin/python bench/calibration.py [--runs 40] [--up] [--run-dir .parity/testbed]

Real testbed (llama.cpp serving SmolLM2-135M). Run ``r`` is the suite's run with
run seed ``r`` (default budget: 100 requests per endpoint) of the reference against

* ``replica``: the same weights and settings in another llama-server process;
* ``reference-self``: the reference server itself, under another endpoint name,
  so with its own per-request seeds (independent samples).

Every request of every run carries its own seed (run seed, stream, prompt,
sample index), so the runs draw disjoint, independent samples; answers are
cached (bench/_eqcache.py) so that runs, and the power bench, share the
reference's draws of the same run seed. The false-fail rate is reported with
its Wilson 95% interval.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import tempfile
from pathlib import Path
from typing import Any

from _eqcache import run_seed, testbed

from parity.stats import wilson
from parity.suites.equality import EqualitySuite
from parity.verdict import Outcome

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = {"replica": "replica", "reference-self": "reference"}


async def calibrate(runs: int, urls: dict[str, str], db: Path, budget: int,
                    candidates: dict[str, str], first: int = 0, logprobs: bool = True
                    ) -> dict[str, Any]:
    suite = EqualitySuite(budget=budget, logprobs=logprobs)
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in candidates}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, first + runs):
            verdicts = await run_seed(seed, candidates, urls, db, suite, Path(tmp))
            for name in candidates:
                v = verdicts[name]
                rows[name].append({
                    "seed": seed, "verdict": v.verdict.value, "p": v.p_value, "e": v.e_value,
                    "requests": v.requests,
                    "by": [t.name for t in v.tests if t.rejected],
                })
    return rows


def summary(rows: list[dict[str, Any]], alpha: float) -> dict[str, Any]:
    n = len(rows)
    fails = sum(r["verdict"] == Outcome.FAIL.value for r in rows)
    est = wilson(fails, n)
    by_test: dict[str, int] = {}
    for r in rows:
        for t in r["by"]:
            by_test[t] = by_test.get(t, 0) + 1
    p_small = sum((r["p"] or 1.0) <= alpha for r in rows)
    return {"runs": n, "fails": fails, "rate": est.value, "low": est.low, "high": est.high,
            "by_test": by_test, "inconclusive": sum(r["verdict"] == "inconclusive" for r in rows),
            "p_le_alpha": p_small, "mean_requests": sum(r["requests"] for r in rows) / max(n, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--black-box", action="store_true", help="ignore logprobs (the fallback alone)")
    ap.add_argument("--candidates", default=",".join(CANDIDATES), help="replica,reference-self")
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "eqcache.sqlite")
    ap.add_argument("--up", action="store_true", help="start reference,replica (and stop them after)")
    ap.add_argument("--json", type=Path, help="write the per-run rows here")
    args = ap.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    with testbed(args.run_dir, ["reference", "replica"], args.up) as urls:
        chosen = {n: CANDIDATES[n] for n in args.candidates.split(",")}
        rows = asyncio.run(calibrate(args.runs, urls, args.cache, args.budget, chosen,
                                     args.first_seed, not args.black_box))
    alpha = 0.05
    mode = "black box only" if args.black_box else "logprobs + black box"
    print(f"# equality calibration, {datetime.date.today()}, budget {args.budget}, α = {alpha}, {mode}")
    print("| candidate | runs | false fails | rate [95% Wilson] | by test | mean requests |")
    print("|---|---|---|---|---|---|")
    out = {}
    for name, r in rows.items():
        s = out[name] = summary(r, alpha)
        print(f"| {name} | {s['runs']} | {s['fails']} | {100 * s['rate']:.1f}% "
              f"[{100 * s['low']:.1f}, {100 * s['high']:.1f}] | {s['by_test'] or '-'} | "
              f"{s['mean_requests']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"summary": out, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

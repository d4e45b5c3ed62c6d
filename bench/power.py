"""Equality suite power: how soon does it fail an endpoint that is *not* serving the reference?

    .venv/bin/python bench/power.py [--repeats 20] [--repeats-250 8] [--repeats-bb 20] [--repeats-bb-250 8]
                                    [--up] [--run-dir .parity/testbed]
    .venv/bin/python bench/power.py --greedy [--repeats-greedy 20] [--calibration-greedy 40]
                                    [--greedy-tokens 32]

Real testbed (llama.cpp, SmolLM2-135M; the reference serves Q4_1 weights). For
each variant, repeat ``r`` is the suite's run with run seed ``r``:

* the default suite (budget 100, logprob e-process + black-box MMD): detection
  within 25 / 50 / 100 requests = the sequential procedure stopped with FAIL by then;
* the same suite with a budget of 250 (``--repeats-250`` seeds): detection, and
  the median requests until the FAIL verdict;
* black box only (logprobs ignored, as for an endpoint that reports none) at
  budgets 100 (``--repeats-bb``) and 250 (``--repeats-bb-250``).

Requests are cached by body (bench/_eqcache.py): a repeat's reference draws are
shared by every variant and every procedure with the same run seed, and the
budget-250 plans extend the budget-100 ones (same prompts, more samples each).

``--greedy``: the black-box test the suite uses by default for a candidate
without logprobs (greedy odd-one-out; ``EqualitySuite(logprobs=False)``), run
through the real suite and runner at a greedy budget of 250 rounds. Its answers
come from the pools of bench/blackbox_pools.py (drawn once on the testbed;
each repeat resamples them, see there): no server is needed. The test is
anytime-valid and its stopping does not depend on the budget, so "detected
within b requests" at budget 250 is what a run at budget b would report.
Calibration (false fails): the replica, and the reference against itself
(a candidate served by the reference's own pool), ``--calibration-greedy`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _eqcache import run_seed, testbed
from blackbox_pools import PoolTransport

from parity.stats import wilson
from parity.suites.equality import EqualitySuite
from parity.verdict import Outcome

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {"q8": "q8", "q4_0": "q4_0", "q3_k_m": "q3_k_m", "q2": "q2", "template": "template",
            "sampling_override": "faults"}
PAPER = ("Gao, Liang & Guestrin (ICLR 2025): MMD + Hamming kernel, 250 samples (25 prompts x 10), "
         "α = 0.05: median power 77% against quantized variants, weak against fp16")


async def repeats(variants: dict[str, str], seeds: int, suite: EqualitySuite, urls: dict[str, str],
                  db: Path, transport: Any = None, reference: str = "reference"
                  ) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            verdicts = await run_seed(seed, variants, urls, db, suite, Path(tmp), transport, reference)
            for name in variants:
                v = verdicts[name]
                spent = v.metrics["requests_to_decision"].value
                tokens = v.metrics.get("completion_tokens")
                rows[name].append({"seed": seed, "verdict": v.verdict.value, "requests": spent,
                                   "spent": v.requests, "tokens": tokens.value if tokens else None,
                                   "reference_requests": v.reference_requests,
                                   "p": v.p_value, "e": v.e_value,
                                   "by": [t.name for t in v.tests if t.rejected]})
            print(f"  seed {seed}: " + " ".join(f"{n}={rows[n][-1]['verdict']}@{rows[n][-1]['spent']}"
                                                for n in variants), flush=True)
    return rows


GREEDY_VARIANTS = {"q8": "q8", "q4_0": "q4_0", "q3_k_m": "q3_k_m", "q2": "q2", "template": "template",
                   "sampling_override": "faults"}
GREEDY_NULLS = {"replica": "replica", "self": "reference"}


async def measure_greedy(args: argparse.Namespace) -> dict[str, Any]:
    suite = EqualitySuite(logprobs=False, greedy_budget=args.greedy_budget, greedy_tokens=args.greedy_tokens)
    urls = {v: "http://127.0.0.1:9/v1" for v in {"reference", *GREEDY_VARIANTS.values(), "replica"}}
    power = await repeats(GREEDY_VARIANTS, args.repeats_greedy, suite, urls, args.cache, PoolTransport)
    nulls = await repeats(GREEDY_NULLS, args.calibration_greedy, suite, urls, args.cache, PoolTransport)
    # A noisy null: Q3_K_M is not deterministic at temperature 0 on llama.cpp's CPU kernels; as its
    # own reference, its pool's variation is the whole of H0.
    noisy = {} if not args.noisy_null else {
        f"{v} vs itself": (await repeats({"self": v}, args.calibration_noisy, suite, urls, args.cache,
                                         PoolTransport, reference=v))["self"]
        for v in args.noisy_null.split(",")}
    return {"greedy": {**nulls, **noisy, **power}, "greedy_tokens": args.greedy_tokens}


def _median(xs: list[float], budget: int) -> str:
    m = statistics.median(xs) if xs else float("inf")
    return f">{budget}" if m == float("inf") else f"{m:.0f}"


def report_greedy(out: dict[str, Any]) -> None:
    print(f"# greedy odd-one-out, {datetime.date.today()}; α = 0.05; {out['greedy_tokens']} tokens per "
          "answer; pooled answers (bench/blackbox_pools.py); detection = FAIL by then")
    print("| candidate | runs | FAIL ≤25 requests | ≤50 | ≤100 | ≤250 | median requests to verdict | "
          "median tokens to verdict | median rounds to crossing (sentinel ticks) | reference requests |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in out["greedy"].items():
        if not rows:
            continue
        cells = [name, str(len(rows))] + [rate(rows, b, key="spent") for b in (25, 50, 100, 250)]
        fail = [r for r in rows if r["verdict"] == Outcome.FAIL.value]
        big = float("inf")
        cells.append(_median([r["spent"] if r in fail else big for r in rows], 250))
        cells.append(_median([r["tokens"] if r in fail else big for r in rows], 250 * out["greedy_tokens"]))
        cells.append(_median([r["requests"] if r in fail else big for r in rows], 250))
        cells.append(_median([r["reference_requests"] for r in rows], 500))
        print("| " + " | ".join(cells) + " |")


def rate(rows: list[dict[str, Any]], within: int, key: str = "requests") -> str:
    k = sum(r["verdict"] == Outcome.FAIL.value and r[key] <= within for r in rows)
    e = wilson(k, len(rows))
    return f"{100 * (e.value or 0):.0f}% [{100 * (e.low or 0):.0f}, {100 * (e.high or 0):.0f}] (n={len(rows)})"


def median_requests(rows: list[dict[str, Any]], budget: int) -> str:
    # A repeat never decided counts as "more than the budget": the median is then an upper bound.
    xs = [r["requests"] if r["verdict"] == Outcome.FAIL.value else float("inf") for r in rows]
    m = statistics.median(xs) if xs else float("inf")
    return f">{budget}" if m == float("inf") else f"{m:.0f}"


async def measure(args: argparse.Namespace, urls: dict[str, str]) -> dict[str, Any]:
    chosen = {n: VARIANTS[n] for n in args.variants.split(",")}
    out: dict[str, Any] = {}
    plans = [("default_100", EqualitySuite(), args.repeats),
             ("default_250", EqualitySuite(budget=250), args.repeats_250),
             ("blackbox_100", EqualitySuite(logprobs=False), args.repeats_bb),
             ("blackbox_250", EqualitySuite(budget=250, logprobs=False), args.repeats_bb_250)]
    for key, suite, n in plans:
        if n > 0:
            out[key] = await repeats(chosen, n, suite, urls, args.cache)
            print(f"{key}: done", flush=True)
    return out


def report(out: dict[str, Any]) -> None:
    print(f"# equality power, {datetime.date.today()}; α = 0.05; detection = FAIL verdict")
    print("| variant | suite ≤25 | ≤50 | ≤100 | median req. (budget 100) | budget 250 | median req. "
          "(budget 250) | black box ≤50 | ≤100 | black box 250 | median req. (black box, 250) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    names = next(iter(out.values())).keys()
    for n in names:
        cells = [n]
        d100, d250 = out.get("default_100", {}).get(n), out.get("default_250", {}).get(n)
        b100, b250 = out.get("blackbox_100", {}).get(n), out.get("blackbox_250", {}).get(n)
        cells += [rate(d100, b) for b in (25, 50, 100)] if d100 else ["-"] * 3
        cells.append(median_requests(d100, 100) if d100 else "-")
        cells += [rate(d250, 250), median_requests(d250, 250)] if d250 else ["-", "-"]
        cells += [rate(b100, b) for b in (50, 100)] if b100 else ["-"] * 2
        cells += [rate(b250, 250), median_requests(b250, 250)] if b250 else ["-", "-"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nFor comparison: {PAPER}.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--repeats-250", type=int, default=8)
    ap.add_argument("--repeats-bb", type=int, default=20, help="black-box-only repeats at budget 100")
    ap.add_argument("--repeats-bb-250", type=int, default=8, help="black-box-only repeats at budget 250")
    ap.add_argument("--greedy", action="store_true", help="the greedy odd-one-out test, from the pools")
    ap.add_argument("--repeats-greedy", type=int, default=20)
    ap.add_argument("--calibration-greedy", type=int, default=40, help="runs of the replica and of self")
    ap.add_argument("--greedy-tokens", type=int, default=32)
    ap.add_argument("--greedy-budget", type=int, default=250, help="rounds (candidate requests) at most")
    ap.add_argument("--noisy-null", default="", help="variants run against themselves (e.g. q3_k_m,q2)")
    ap.add_argument("--calibration-noisy", type=int, default=40, help="runs of each --noisy-null variant")
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "eqcache.sqlite")
    ap.add_argument("--up", action="store_true", help="start the variants (and stop them after)")
    ap.add_argument("--json", type=Path, help="write the per-repeat rows here")
    args = ap.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    if args.greedy:
        out = asyncio.run(measure_greedy(args))
        report_greedy(out)
        if args.json:
            args.json.write_text(json.dumps(out, indent=1))
        return
    servers = sorted({"reference", *(VARIANTS[n] for n in args.variants.split(","))})
    with testbed(args.run_dir, servers, args.up) as urls:
        out = asyncio.run(measure(args, urls))
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

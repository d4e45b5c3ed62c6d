"""Greedy odd-one-out power and false fails with FRESH draws: every request goes to the testbed.

    .venv/bin/python bench/power_fresh.py [--up] [--null-runs 40] [--variant-runs 20]
        [--null-budget 100] [--variant-budget 250] [--first-seed 1000] [--out .parity/power_fresh.jsonl]
    .venv/bin/python bench/power_fresh.py --report [--out ...]

Unlike ``bench/power.py --greedy`` (which resamples answer pools drawn once), each run here is the
real equality suite, ``EqualitySuite(logprobs=False)``, through the real runner, against the
llama.cpp testbed, with no cache: every answer is drawn afresh.

Repeat ``r`` uses run seed ``first_seed + r``, which draws the prompt order (all 56 prompts,
cycled) and every request's seed. Two runs per repeat, side by side:

* null: reference + replica + ``self`` (a second endpoint on the reference's own server) at a
  greedy budget of ``--null-budget`` rounds: false fails (``--null-runs`` repeats);
* variants: reference + q8, q4_0, q3_k_m, q2, template, sampling override at
  ``--variant-budget`` rounds (``--variant-runs`` repeats; the test is anytime-valid, so "FAIL
  within b requests" at this budget is what a run at budget b would report).

What makes repeats independent: nothing is cached, so each answer is a new computation on the
server, under whatever batch the other concurrent requests make; the prompt order differs per
repeat. At temperature 0 a deterministic server gives the same text again, so for the replica the
false-fail rate measures the servers' nondeterminism (the rows report how often the reference's two
answers, and the candidate's, differed). Each finished run is appended to ``--out`` at once;
restarting skips the runs already there (a crash loses at most the runs in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _eqcache import run_seed, testbed

from parity.stats import wilson
from parity.suites.equality import EqualitySuite
from parity.verdict import Outcome

ROOT = Path(__file__).resolve().parent.parent
NULLS = {"replica": "replica", "self": "reference"}
VARIANTS = {"q8": "q8", "q4_0": "q4_0", "q3_k_m": "q3_k_m", "q2": "q2", "template": "template",
            "sampling_override": "faults"}
BUDGETS = (25, 50, 100, 250)


class Counting(httpx.AsyncBaseTransport):
    """Forwards to the server; counts the chat requests (the reference's cost, on the wire)."""

    def __init__(self, _db: Path, variant: str) -> None:
        self.variant = variant
        self.inner = httpx.AsyncHTTPTransport()
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.posts += request.method == "POST"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _val(m: dict[str, Any], key: str) -> float | None:
    return m[key].value if key in m else None


def _count(m: dict[str, Any], key: str) -> int:
    """``k`` of a Wilson estimate ``k/n`` (0 when there were no rounds)."""
    return round((m[key].value or 0) * m[key].n) if key in m and m[key].n else 0


async def one_run(kind: str, seed: int, candidates: dict[str, str], budget: int, urls: dict[str, str],
                  tmp: Path) -> list[dict[str, Any]]:
    suite = EqualitySuite(logprobs=False, greedy_budget=budget)
    made: list[Counting] = []

    def make(db: Path, variant: str) -> Counting:
        made.append(Counting(db, variant))
        return made[-1]

    t0 = time.monotonic()
    verdicts = await run_seed(seed, candidates, urls, tmp / "unused.sqlite", suite, tmp, make)
    wall = time.monotonic() - t0
    ref_posts = made[0].posts  # run_seed builds the reference's transport first
    rows = []
    for name in candidates:
        v = verdicts[name]
        t = v.tests[0].detail if v.tests else {}
        m = v.metrics
        rows.append({
            "kind": kind, "seed": seed, "candidate": name, "budget": budget, "verdict": v.verdict.value,
            "spent": v.requests, "rounds_to_crossing": _val(m, "requests_to_decision"),
            "tokens": _val(m, "completion_tokens"), "reference_requests": v.reference_requests,
            "reference_tokens": _val(m, "reference_completion_tokens"), "reference_posts_in_run": ref_posts,
            "rounds": t.get("rounds", 0), "candidate_odd": t.get("candidate_odd", 0),
            "candidate_differs": _count(m, "greedy_candidate_divergence"),
            "reference_differs": _count(m, "greedy_reference_divergence"),
            "e": v.e_value, "wall_s": round(wall, 1)})
    return rows


def load(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []


async def measure(args: argparse.Namespace, urls: dict[str, str]) -> None:
    done = {(r["kind"], r["seed"]) for r in load(args.out)}
    todo = [("null", args.first_seed + r, NULLS, args.null_budget) for r in range(args.null_runs)]
    todo += [("variants", args.first_seed + r, VARIANTS, args.variant_budget) for r in range(args.variant_runs)]
    todo.sort(key=lambda t: t[1])  # a null run and a variant run of the same seed side by side
    todo = [t for t in todo if (t[0], t[1]) not in done]
    print(f"{len(todo)} runs to go ({len(done)} already in {args.out})", flush=True)
    t0, finished = time.monotonic(), 0
    sem = asyncio.Semaphore(args.concurrent_runs)
    with tempfile.TemporaryDirectory() as tmp:
        async def go(kind: str, seed: int, cands: dict[str, str], budget: int) -> None:
            nonlocal finished
            async with sem:
                rows = await one_run(kind, seed, cands, budget, urls, Path(tmp))
            with args.out.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
            finished += 1
            left = (time.monotonic() - t0) / finished * (len(todo) - finished)
            print(f"[{finished}/{len(todo)}] {kind} seed {seed} ({rows[0]['wall_s']} s, ~{left / 60:.0f} min left): "
                  + " ".join(f"{r['candidate']}={r['verdict']}@{r['spent']}"
                             f"(ref {r['reference_requests']}, odd {r['candidate_odd']}/{r['rounds']}, "
                             f"refdiff {r['reference_differs']})" for r in rows), flush=True)

        await asyncio.gather(*(go(*t) for t in todo))


def partial_rows(db: Path, seed: int, budget: int) -> list[dict[str, Any]]:
    """A null run stopped before its budget (its store kept): the decision over the rounds it finished.

    Anytime-valid, so "no FAIL within the k rounds answered" is a valid observation of a run
    at budget k; the row's ``budget`` is k.
    """
    from parity.store import Store
    from parity.suites.equality._greedy import answers, decide_greedy

    store = Store(str(db))
    try:
        exs = store.exchanges(store.list_runs(limit=1)[0].id)
    finally:
        store.close()
    ref = answers(x for x in exs if x.endpoint == "reference")
    rows = []
    for name in NULLS:
        cand = answers(x for x in exs if x.endpoint == name)
        done = [j for j in cand.by_round if len(ref.by_round.get(j, [])) >= 2]
        k = 0
        while k in done:
            k += 1
        d = decide_greedy(ref, cand, 0.05, k)
        mine = [x for x in exs if x.endpoint == name]
        rows.append({"kind": "null-partial", "seed": seed, "candidate": name, "budget": k,
                     "verdict": Outcome.FAIL.value if d.rejected else Outcome.PASS.value,
                     "spent": d.stopped_at or k, "rounds_to_crossing": d.stopped_at,
                     "tokens": sum((x.completion.usage or {}).get("completion_tokens", 0)
                                   for x in mine if x.completion is not None),
                     "reference_requests": 2 * k, "rounds": d.test.n, "candidate_odd": d.test.candidate_odd,
                     "candidate_differs": d.candidate_differs, "reference_differs": d.reference_differs,
                     "e": d.test.max_e_value, "wall_s": None})
    return rows


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _rate(rows: list[dict[str, Any]], within: int) -> str:
    if within > rows[0]["budget"]:
        return "-"
    k = sum(r["verdict"] == Outcome.FAIL.value and r["spent"] <= within for r in rows)
    w, (lo, hi) = wilson(k, len(rows)), clopper_pearson(k, len(rows))
    return (f"{k}/{len(rows)} = {100 * k / len(rows):.0f}% W[{100 * (w.low or 0):.1f}, {100 * (w.high or 0):.1f}]"
            f" CP[{100 * lo:.1f}, {100 * hi:.1f}]")


def _median(rows: list[dict[str, Any]], key: str) -> str:
    xs = [r[key] if r["verdict"] == Outcome.FAIL.value else float("inf") for r in rows]
    m = statistics.median(xs)
    return "no FAIL" if m == float("inf") else f"{m:.0f}"


def _cells(name: str, kind: str, mine: list[dict[str, Any]]) -> list[str]:
    budgets = sorted({r["budget"] for r in mine})
    label = name if kind != "null-partial" else f"{name} (stopped early: rounds {budgets[0]}–{budgets[-1]})"
    rates = [_rate(mine, b) if kind != "null-partial" else
             (f"{sum(r['verdict'] == Outcome.FAIL.value for r in mine)} FAIL" if b == BUDGETS[0] else "")
             for b in BUDGETS]
    return [label, str(len(mine)), "/".join(map(str, budgets)), *rates,
            _median(mine, "spent"), _median(mine, "tokens"),
            f"{statistics.median(r['reference_requests'] for r in mine):.0f}",
            f"{sum(r['candidate_differs'] for r in mine)} / {sum(r['reference_differs'] for r in mine)}"
            f" of {sum(r['rounds'] or 0 for r in mine)}",
            ", ".join(f"{v} {sum(r['verdict'] == v for r in mine)}" for v in sorted({r['verdict'] for r in mine}))]


def report(out: Path) -> None:
    rows = load(out)
    print(f"# greedy odd-one-out, fresh draws ({out}); α = 0.05; FAIL within b candidate requests")
    print("| candidate | runs | budget | ≤25 | ≤50 | ≤100 | ≤250 | median cand. requests | median cand. tokens "
          "| median ref. requests | rounds: cand. differs / ref. pair differs | verdicts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in (*NULLS, *VARIANTS):
        for kind in ("null", "variants", "null-partial"):
            mine = [r for r in rows if r["candidate"] == name and r["kind"] == kind]
            if mine:
                print("| " + " | ".join(_cells(name, kind, mine)) + " |")
    walls = [r["wall_s"] for r in rows if r["wall_s"] is not None]
    print(f"\nwall per run: median {statistics.median(walls):.0f} s (n = {len(walls)} rows)" if walls else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--null-runs", type=int, default=40)
    ap.add_argument("--variant-runs", type=int, default=20)
    ap.add_argument("--null-budget", type=int, default=100)
    ap.add_argument("--variant-budget", type=int, default=250)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--concurrent-runs", type=int, default=2)
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--out", type=Path, default=ROOT / ".parity" / "power_fresh.jsonl")
    ap.add_argument("--up", action="store_true", help="start the variants (and stop them after)")
    ap.add_argument("--report", action="store_true", help="only print the table of what --out holds")
    ap.add_argument("--partial", nargs=3, metavar=("DB", "SEED", "BUDGET"),
                    help="append the finished rounds of an interrupted null run's store to --out")
    args = ap.parse_args()
    if args.partial:
        db, seed, budget = args.partial
        with args.out.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in partial_rows(Path(db), int(seed), int(budget)))
    elif not args.report:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        servers = [*sorted({"reference", *NULLS.values(), *VARIANTS.values()} - {"faults"}), "faults"]
        with testbed(args.run_dir, servers, args.up) as urls:
            asyncio.run(measure(args, urls))
    report(args.out)


if __name__ == "__main__":
    main()

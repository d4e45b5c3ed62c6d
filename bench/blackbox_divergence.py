"""How often does a variant's greedy answer differ from the reference's? By length and by "border".

    .venv/bin/python bench/blackbox_divergence.py [--cache .parity/eqcache.sqlite]

Reads the pools of bench/blackbox_pools.py (no server). For each answer length
T (16, 32, 64 tokens; greedy answers are prefix-consistent, so the first T of
64 tokens are the T-token answer) and variant: the share of (prompt, pool
answer) pairs whose first T tokens differ from the reference's answer 0 —
the per-round chance that the candidate is the odd one, which sets the greedy
test's power. The reference's own answers 1.. against its answer 0 are the
noise floor (its "divergence" is what exchangeability must absorb).

Border prompts: the reference's smallest top-1/top-2 probability margin over
the first T positions of its answer 0 (raw model probabilities, reported by
the pool draw). Prompts are split at the median margin; a variant that
changes the weights slightly should flip the near-ties first.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import orjson

from parity.stats import wilson

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("reference", "replica", "q8", "q4_0", "q3_k_m", "q2", "template", "faults")


def tokens(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return list((answer["choices"][0].get("logprobs") or {}).get("content") or [])


def head(answer: dict[str, Any], n: int) -> tuple[str, ...]:
    return tuple(str(e["token"]) for e in tokens(answer)[:n])


def margin(answer: dict[str, Any], n: int) -> float:
    """Smallest p1 − p2 over the first ``n`` positions (model probabilities)."""
    out = 1.0
    for e in tokens(answer)[:n]:
        top = sorted((math.exp(float(t["logprob"])) for t in e.get("top_logprobs") or []), reverse=True)
        if len(top) >= 2:
            out = min(out, top[0] - top[1])
    return out


def pct(k: int, n: int) -> str:
    e = wilson(k, n)
    return f"{100 * (e.value or 0):.0f}% [{100 * (e.low or 0):.0f}, {100 * (e.high or 0):.0f}] ({k}/{n})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "eqcache.sqlite")
    args = ap.parse_args()
    db = sqlite3.connect(args.cache)
    pools: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for variant, key, _idx, body in db.execute("select variant, key, idx, body from pools order by idx"):
        pools.setdefault(variant, {}).setdefault(key, []).append(orjson.loads(body))
    ref = {k: v[0] for k, v in pools["reference"].items()}
    for n in (16, 32, 64):
        margins = {k: margin(a, n) for k, a in ref.items()}
        cut = statistics.median(margins.values())
        print(f"\n## first {n} tokens (border = reference margin <= median {cut:.3f})")
        print("| variant | differs from reference's answer 0 | border prompts | other prompts |")
        print("|---|---|---|---|")
        for variant in VARIANTS:
            rows = [(k, a) for k, answers in pools.get(variant, {}).items() if k in ref
                    for a in (answers[1:] if variant == "reference" else answers)]
            diff = [(k, head(a, n) != head(ref[k], n)) for k, a in rows]
            border = [d for k, d in diff if margins[k] <= cut]
            other = [d for k, d in diff if margins[k] > cut]
            name = "reference (own answers 1..)" if variant == "reference" else variant
            print(f"| {name} | {pct(sum(d for _, d in diff), len(diff))} | {pct(sum(border), len(border))} "
                  f"| {pct(sum(other), len(other))} |")


if __name__ == "__main__":
    main()

"""Which black-box statistic? The equality suite's fallback against alternatives, on the same samples.

    .venv/bin/python bench/blackbox_statistics.py [--seeds 0:12] [--reference-budget 100] [--draw]

The black-box test (no candidate logprobs) is the per-prompt MMD² under a
Hamming kernel, calibrated by within-prompt permutation and looked at every
25 requests with α spent as ``α (n/B)²`` (docs/equality.md). This bench
replays that procedure over the cached answers of the power bench
(bench/_eqcache.py; ``--draw`` sends what is missing to a running testbed,
``bench/power.py --up`` style) with other statistics in place of the Hamming
MMD, everything else equal:

* ``hamming``: the suite's (Gao, Liang & Guestrin 2025).
* ``prefix``: MMD² under the common-prefix kernel ``|lcp(x, y)| / L``: the
  positions after two samples first differ carry no weight.
* ``first``: MMD² under the delta kernel on the first token only.
* ``scored``: MMD² under the linear kernel on ``f(x) = r(x₁)``, the probability
  the *reference* reported (top-k logprobs of its held-out sample 0) for the
  sample's first token: it needs logprobs from the reference only.
* ``scored-signed``: ``Σ_prompts (mean f(candidate) − mean f(reference))``,
  two-sided: sees a consistently sharper or flatter candidate.
* ``hamming+scored``: the sum of the two kernels (``scored`` weighted 4).

The statistics that use the reference's report leave its sample 0 out of the
permuted pool, so every test here is exact. ``--reference-budget 250`` gives
the reference 10 samples per prompt while the candidate's looks stay at 25, 50,
75 and 100 (the reference's samples are shared by every candidate of a run).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from _eqcache import prefetch, testbed_urls
from numpy.typing import NDArray

from parity.case import body_hash
from parity.config import RunSettings
from parity.stats import wilson
from parity.stats.mmd import hamming_kernel_matrix, mmd2_for_labels
from parity.stats.stratified import _labels
from parity.suites.equality import EqualitySuite
from parity.suites.equality._samples import _tokens

ROOT = Path(__file__).resolve().parent.parent
STREAMS = {"replica": "replica", "q8": "q8", "q4_0": "q4_0", "q3_k_m": "q3_k_m", "q2": "q2",
           "template": "template", "sampling_override": "faults"}
LENGTH = 16
Seq = tuple[str, ...]
Answer = tuple[Seq, dict[str, float]]  # tokens, first-position probabilities
Kernel = Callable[[list[Seq], dict[str, float]], NDArray[np.float64]]


def _prefix(seqs: list[Seq], _: dict[str, float]) -> NDArray[np.float64]:
    codes = np.full((len(seqs), LENGTH), -1, dtype=np.int64)
    vocab: dict[str, int] = {}
    for i, s in enumerate(seqs):
        row = [vocab.setdefault(t, len(vocab)) for t in s[:LENGTH]]
        codes[i, : len(row)] = row
    same = codes[:, None, :] == codes[None, :, :]
    return np.cumprod(same, axis=2).sum(axis=2) / LENGTH


def _first(seqs: list[Seq], _: dict[str, float]) -> NDArray[np.float64]:
    f = [s[0] if s else "" for s in seqs]
    return np.array([[float(a == b) for b in f] for a in f])


def _feature(seqs: list[Seq], score: dict[str, float]) -> NDArray[np.float64]:
    return np.array([score.get(s[0], 0.0) if s else 0.0 for s in seqs])


def _scored(seqs: list[Seq], score: dict[str, float]) -> NDArray[np.float64]:
    f = _feature(seqs, score)
    return np.outer(f, f)


KERNELS: dict[str, Kernel] = {
    "hamming": lambda s, _: hamming_kernel_matrix(s, LENGTH),
    "prefix": _prefix,
    "first": _first,
    "scored": _scored,
    "hamming+scored": lambda s, r: hamming_kernel_matrix(s, LENGTH) + 4 * _scored(s, r),
}
STATISTICS = [*KERNELS, "scored-signed"]
USES_REPORT = {"scored", "scored-signed", "hamming+scored"}


def p_value(stat: str, blocks: list[tuple[list[Seq], list[Seq], dict[str, float]]], n_perm: int,
            rng: np.random.Generator) -> float:
    total = np.zeros(n_perm + 1)
    for ref, cand, score in blocks:
        seqs, m = [*ref, *cand], len(ref)
        z = _labels(len(seqs), m, n_perm, rng)
        if stat == "scored-signed":
            f = _feature(seqs, score)
            total += (f.sum() - z @ f) / len(cand) - z @ f / m
        else:
            total += mmd2_for_labels(KERNELS[stat](seqs, score), z, m)
    obs = abs(total[0]) if stat == "scored-signed" else total[0]
    perm = np.abs(total[1:]) if stat == "scored-signed" else total[1:]
    return (1 + int(np.count_nonzero(perm >= obs - 1e-12))) / (1 + n_perm)


def answers(db: sqlite3.Connection, variant: str, bodies: list[dict[str, Any]]) -> list[Answer | None]:
    out: list[Answer | None] = []
    for b in bodies:
        row = db.execute("select body from answers where variant=? and key=?",
                         (variant, str(body_hash(b)))).fetchone()
        if row is None:
            out.append(None)
            continue
        tokens, first = _tokens(orjson.loads(row[0])["choices"][0].get("logprobs"))
        out.append((tokens or (), {k: math.exp(v) for k, v in (first or {}).items()}))
    return out


def detect(stat: str, suite: EqualitySuite, seed: int, ref: list[Answer | None],
           cand: list[Answer | None], alpha: float, n_perm: int) -> int | None:
    """Candidate requests at the rejecting look, or None: the suite's looks and spending."""
    design = suite.design(RunSettings(seed=seed, alpha=alpha))
    plan = suite.plan(RunSettings(seed=seed))
    by_prompt: dict[str, list[tuple[int, Answer]]] = defaultdict(list)
    for i, a in enumerate(ref):
        if a is not None:
            by_prompt[plan.slot(i)[0]].append((plan.slot(i)[1], a))
    rng = np.random.default_rng(seed)
    for n, a_k in zip(design.looks(), design.spending(alpha), strict=True):
        if a_k <= 0:
            continue
        blocks = []
        for pid in plan.prompt_ids:
            held = [a for idx, a in by_prompt[pid] if idx == 0]
            score = held[0][1] if held and stat in USES_REPORT else {}
            rs = [a[0] for idx, a in by_prompt[pid] if not (stat in USES_REPORT and idx == 0)]
            cs = [c[0] for i, c in enumerate(cand[:n]) if c is not None and plan.slot(i)[0] == pid]
            if len(rs) >= 2 and len(cs) >= 2:
                blocks.append((rs, cs, score))
        if blocks and p_value(stat, blocks, n_perm, rng) <= a_k:
            return n
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0:12", help="run seeds a:b (b excluded)")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--reference-budget", type=int, default=100)
    ap.add_argument("--statistics", default=",".join(STATISTICS))
    ap.add_argument("--permutations", type=int, default=2000)
    ap.add_argument("--draw", action="store_true", help="send missing requests to the running testbed")
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "eqcache.sqlite")
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split(":"))
    stats = args.statistics.split(",")
    suite, ref_suite = EqualitySuite(budget=args.budget), EqualitySuite(budget=args.reference_budget)
    plans = {seed: {"reference": ("reference", ref_suite.cases(RunSettings(seed=seed), "reference")),
                    **{n: (v, suite.cases(RunSettings(seed=seed), n)) for n, v in STREAMS.items()}}
             for seed in range(a, b)}
    if args.draw:
        urls = testbed_urls(args.run_dir)
        for streams in plans.values():
            for variant, cases in streams.values():
                asyncio.run(prefetch(args.cache, variant, urls[variant], [c.body for c in cases]))
    db = sqlite3.connect(args.cache)
    hits: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for seed, streams in plans.items():
        got = {n: answers(db, v, [c.body for c in cases]) for n, (v, cases) in streams.items()}
        missing = sum(x is None for g in got.values() for x in g)
        if missing:
            raise SystemExit(f"seed {seed}: {missing} answers not cached (run with --draw)")
        for name in STREAMS:
            for stat in stats:
                hits[(name, stat)].append(detect(stat, suite, seed, got["reference"], got[name], 0.05,
                                                 args.permutations))
    print(f"# black-box statistics: seeds {a}-{b - 1}, candidate budget {args.budget}, reference "
          f"samples {args.reference_budget}, α = 0.05; cell = detected within 50 / within {args.budget}")
    print("| variant | " + " | ".join(stats) + " |")
    print("|---|" + "---|" * len(stats))
    for name in STREAMS:
        cells = []
        for stat in stats:
            h = hits[(name, stat)]
            k50 = sum(x is not None and x <= 50 for x in h)
            kb = sum(x is not None for x in h)
            e = wilson(kb, len(h))
            cells.append(f"{k50} / {kb} of {len(h)} [{100 * (e.low or 0):.0f}, {100 * (e.high or 0):.0f}%]")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

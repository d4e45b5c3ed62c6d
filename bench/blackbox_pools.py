"""Pools of greedy answers per testbed variant and prompt: drawn once, resampled by every repeat.

    .venv/bin/python bench/blackbox_pools.py [--up] [--run-dir .parity/testbed] [--reference 4]
        [--others 3] [--faults 2]

The equality suite's black-box test asks every prompt at temperature 0 (docs/equality.md).
Drawing fresh answers for each of 20–40 repeats x 250 rounds x 8 variants does not fit two
shared cores, so this bench draws, per variant and per prompt (all 56), a small pool of
answers (``--reference`` for the reference, ``--others`` for every other variant, each with
its own seed) at ``POOL_TOKENS`` tokens, with the tokens reported. ``PoolTransport`` then
answers the suite's greedy requests from the pool: the request's seed picks one answer of
the pool (with replacement), truncated to the request's ``max_tokens`` (greedy decoding is
prefix-consistent: the first 32 of 64 greedy tokens are the 32-token answer), and the
logprobs are dropped unless asked for. A repeat is therefore a resample of the pool, not a
fresh draw: on a prompt where a server is not deterministic, the pool holds only the
variation that ``m`` draws showed. ``--report`` prints how many prompts' pools are not all equal.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import orjson
from _eqcache import testbed, testbed_urls

from parity.case import body_hash
from parity.suites.equality import PROMPTS, Sampling, sample_seed

ROOT = Path(__file__).resolve().parent.parent
POOL_TOKENS = 32
# Testbed variant behind each name the benches use ("faults": the sampling-override proxy).
VARIANTS = ("reference", "replica", "q8", "q4_0", "q3_k_m", "q2", "template", "faults")
# The pool is drawn with the model's own top-2 probabilities (post_sampling_probs off: at
# temperature 0 they would be degenerate), to find near-ties; greedy text does not depend on them.
_NOT_KEYED = ("seed", "model", "max_tokens", "logprobs", "top_logprobs", "post_sampling_probs")


def pool_key(body: dict[str, Any]) -> str:
    return body_hash({k: v for k, v in body.items() if k not in _NOT_KEYED})


def draw_body(prompt: str, pid: str, index: int) -> dict[str, Any]:
    body = Sampling().greedy(POOL_TOKENS).body(prompt, sample_seed(0, "pool", pid, index))
    return {**body, "logprobs": True, "top_logprobs": 2, "post_sampling_probs": False}


def connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    con.execute("pragma journal_mode=wal")
    con.execute("create table if not exists pools (variant text, key text, idx integer, body blob,"
                " primary key (variant, key, idx))")
    return con


def _truncate(answer: dict[str, Any], max_tokens: int, keep_logprobs: bool) -> dict[str, Any]:
    out = orjson.loads(orjson.dumps(answer))
    choice = out["choices"][0]
    content = (choice.get("logprobs") or {}).get("content") or []
    if len(content) > max_tokens:
        kept = content[:max_tokens]
        raw = b"".join(bytes(e.get("bytes") or e["token"].encode()) for e in kept)
        choice["message"]["content"] = raw.decode("utf-8", errors="replace")
        choice["finish_reason"] = "length"
        choice["logprobs"]["content"] = kept
        if isinstance(out.get("usage"), dict):
            out["usage"]["completion_tokens"] = len(kept)
            out["usage"]["total_tokens"] = out["usage"].get("prompt_tokens", 0) + len(kept)
    if not keep_logprobs:
        choice.pop("logprobs", None)
    return dict(out)


class PoolTransport(httpx.AsyncBaseTransport):
    """Answers greedy chat requests from the pool of ``variant``; others go to ``inner``."""

    def __init__(self, db: Path, variant: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.db = connect(db)
        self.variant = variant
        self.inner = inner
        self.served = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        body: dict[str, Any] = orjson.loads(request.content) if request.content else {}
        if request.method != "POST" or body.get("temperature") != 0.0:
            if self.inner is None:
                return httpx.Response(400, json={"error": {"message": "not a pooled request"}})
            return await self.inner.handle_async_request(request)
        rows = self.db.execute("select body from pools where variant=? and key=? order by idx",
                               (self.variant, pool_key(body))).fetchall()
        if not rows:
            return httpx.Response(500, json={"error": {"message": "no pool for this request"}})
        pick = int(hashlib.sha256(str(body.get("seed")).encode()).hexdigest(), 16) % len(rows)
        answer = _truncate(orjson.loads(rows[pick][0]), int(body.get("max_tokens") or POOL_TOKENS),
                           bool(body.get("logprobs")))
        self.served += 1
        return httpx.Response(200, content=orjson.dumps(answer),
                              headers={"content-type": "application/json"}, request=request)


async def draw(db: Path, urls: dict[str, str], sizes: dict[str, int], concurrency: int = 6) -> int:
    con = connect(db)
    todo: list[tuple[str, str, int, dict[str, Any]]] = []
    for variant, m in sizes.items():
        for pid, prompt in PROMPTS:
            for idx in range(m):
                body = draw_body(prompt, pid, idx)
                key = pool_key(body)
                if con.execute("select 1 from pools where variant=? and key=? and idx=?",
                               (variant, key, idx)).fetchone() is None:
                    todo.append((variant, key, idx, body))
    print(f"drawing {len(todo)} answers", flush=True)
    sems = {v: asyncio.Semaphore(concurrency) for v in sizes}
    done = 0
    async with httpx.AsyncClient(timeout=900) as client:
        async def one(variant: str, key: str, idx: int, body: dict[str, Any]) -> None:
            nonlocal done
            async with sems[variant]:
                for _ in range(3):
                    r = await client.post(f"{urls[variant]}/chat/completions", json={"model": "smollm2", **body})
                    if r.status_code == 200:
                        con.execute("insert or replace into pools values (?, ?, ?, ?)",
                                    (variant, key, idx, r.content))
                        done += 1
                        if done % 100 == 0:
                            print(f"  {done}/{len(todo)}", flush=True)
                        return

        await asyncio.gather(*(one(*t) for t in todo))
    return done


def report(db: Path) -> None:
    con = connect(db)
    print("| variant | prompts | answers | prompts whose pool is not all equal "
          "| differs from reference's first answer |")
    print("|---|---|---|---|---|")
    def text(body: bytes) -> str:  # answers drawn at 64 tokens by an earlier draw: cut to POOL_TOKENS
        return str(_truncate(orjson.loads(body), POOL_TOKENS, False)["choices"][0]["message"]["content"])

    ref: dict[str, str] = {}
    for key, body in con.execute("select key, body from pools where variant='reference' and idx=0"):
        ref[key] = text(body)
    for variant in VARIANTS:
        texts: dict[str, list[str]] = {}
        for key, body in con.execute("select key, body from pools where variant=?", (variant,)):
            texts.setdefault(key, []).append(text(body))
        if not texts:
            continue
        noisy = sum(len(set(t)) > 1 for t in texts.values())
        differs = sum(ref.get(k) not in t for k, t in texts.items())
        print(f"| {variant} | {len(texts)} | {sum(map(len, texts.values()))} | {noisy} | {differs} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", type=int, default=4, help="pool size of the reference")
    ap.add_argument("--others", type=int, default=3, help="pool size of every other variant")
    ap.add_argument("--faults", type=int, default=2, help="pool size of the sampling override (random)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".parity" / "testbed")
    ap.add_argument("--cache", type=Path, default=ROOT / ".parity" / "eqcache.sqlite")
    ap.add_argument("--up", action="store_true", help="start the variants (and stop them after)")
    ap.add_argument("--report", action="store_true", help="only print what the pools hold")
    args = ap.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        names = args.variants.split(",")
        sizes = {v: {"reference": args.reference, "faults": args.faults}.get(v, args.others) for v in names}
        with testbed(args.run_dir, sorted(set(names) - {"faults"} | {"reference"}) + (
                ["faults"] if "faults" in names else []), args.up) as urls:
            asyncio.run(draw(args.cache, urls if urls else testbed_urls(args.run_dir), sizes))
    report(args.cache)


if __name__ == "__main__":
    main()

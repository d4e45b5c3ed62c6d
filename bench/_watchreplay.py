"""Sentinel answers from the real testbed, drawn once, replayed through the real sentinel and detector.

Collection (``collect``): for every cached variant, ``draws`` answers to each of
``POOL_PROMPTS`` equality prompts, sent exactly as the sentinel sends them
(:meth:`SentinelDesign.cases`: temperature 1, 8 tokens, first-token top-10
logprobs, distinct seeds), and ``canary_draws`` answers to the tool-call
canary. Answers are kept by request body in a SQLite file (``bench/_eqcache``'s
cache, its own file), so the collection is resumable and never repeated.

Replay: a tick of a candidate draws, per prompt of the design, the reference's
anchor and control from two distinct cached reference answers and the
candidate's answer from its current pool — three distinct draw numbers (draw
``k`` of every pool carries the same seed), uniformly, with replacement across
ticks (answers are *resampled*: a cached answer appears in many ticks) — and
hands those exchanges to the watch's own :func:`parity.watch.observe`; the
observations go to the watch's own :class:`parity.watch.Monitor`. The clock is
the schedule's (:class:`parity.watch.Ticks`, with jitter): simulated, so days
pass in seconds.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from parity.case import body_hash
from parity.client._parse import parse_completion
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.watch import SENTINEL, Monitor, SentinelDesign, State, observe
from parity.watch._sentinel import CANARY

POOL_PROMPTS = 16  # prompts cached per variant (the first 16 of choose_prompts(0, ...))
# pool name -> testbed variant serving it ("faults": the proxy imposing the server's sampling)
VARIANTS = {"reference": "reference", "replica": "replica", "q4_0": "q4_0", "template": "template",
            "sampling_override": "faults"}


def pool_design() -> SentinelDesign:
    return SentinelDesign.make(POOL_PROMPTS, canary=True, seed=0)


def collection_bodies(draws: int, canary_draws: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(prompt id or "canary", body)`` for every request the cache holds per variant."""
    design = pool_design()
    for k in range(draws):
        for case in design.cases(f"cache-{k}", "candidate", 1):
            pid = case.id.rpartition("#")[0]
            if pid != CANARY or k < canary_draws:
                yield pid, case.body


async def collect(db: Path, urls: dict[str, str], draws: int, canary_draws: int,
                  pools: list[str], concurrency: int) -> dict[str, int]:
    from _eqcache import prefetch  # the response cache and prefetcher of the equality benches

    bodies = [b for _, b in collection_bodies(draws, canary_draws)]
    sent: dict[str, int] = {}
    for pool in pools:
        variant = VARIANTS[pool]
        sent[pool] = await prefetch(db, variant, urls[variant], bodies, concurrency=concurrency)
        print(f"  {pool}: {sent[pool]} sent, {len(bodies)} cached", flush=True)
    return sent


def _strip_logprobs(c: Completion) -> Completion:
    return c.model_copy(update={"logprobs": None})


@dataclass
class Pools:
    """Cached completions: pool -> prompt id (or "canary") -> answers."""

    answers: dict[str, dict[str, list[Completion]]]

    @classmethod
    def load(cls, db: Path, draws: int, canary_draws: int, pools: list[str],
             blackbox: bool = False) -> Pools:
        conn = sqlite3.connect(db)
        out: dict[str, dict[str, list[Completion]]] = {}
        missing = 0
        for pool in pools:
            by_prompt: dict[str, list[Completion]] = {}
            for pid, body in collection_bodies(draws, canary_draws):
                row = conn.execute("select body from answers where variant=? and key=?",
                                   (VARIANTS[pool], str(body_hash(body)))).fetchone()
                if row is None:
                    missing += 1
                    continue
                c = parse_completion(orjson.loads(row[0]))
                by_prompt.setdefault(pid, []).append(_strip_logprobs(c) if blackbox else c)
            out[pool] = by_prompt
        conn.close()
        if missing:
            raise SystemExit(f"{db}: {missing} answers missing; run `bench/watch.py collect` first")
        return cls(out)

    def count(self, pool: str) -> int:
        return sum(len(v) for v in self.answers[pool].values())


def _exchange(c: Completion, endpoint: str, case_id: str) -> Exchange:
    return Exchange(status=ExchangeStatus.OK, completion=c, run_id="replay", endpoint=endpoint,
                    suite=SENTINEL, case_id=case_id, case_hash=case_id, request={})


# Which pool answers a candidate request: called once per request (a misroute draws per request).
Source = Callable[[random.Random], str]


def tick_observations(design: SentinelDesign, pools: Pools, source: Source,
                      rng: random.Random) -> list[float]:
    """One candidate tick's observations, through the watch's own ``observe``."""
    ids = [*design.prompts, *([CANARY] if design.canary else [])]
    xs: list[Exchange] = []
    for pid in ids:
        ref, cand = pools.answers["reference"][pid], pools.answers[source(rng)][pid]
        # Draw k of every pool was sent with the same seed: llama.cpp then samples the same
        # tokens wherever the distributions agree. The watch never sends one seed twice in a
        # tick, so anchor, control and candidate are three distinct draws.
        i, j, m = rng.sample(range(min(len(ref), len(cand))), 3)
        xs += [_exchange(ref[i], "reference", f"{pid}#0"), _exchange(ref[j], "reference", f"{pid}#1"),
               _exchange(cand[m], "candidate", f"{pid}#0")]
    return observe(design, xs, "reference", "candidate")


def run_collect(db: Path, run_dir: Path, up: bool, draws: int, canary_draws: int,
                pools: list[str], concurrency: int) -> dict[str, int]:
    from _eqcache import testbed

    variants = sorted({VARIANTS[p] for p in pools})
    with testbed(run_dir, variants, up) as urls:
        return asyncio.run(collect(db, urls, draws, canary_draws, pools, concurrency))


# Greedy black-box sentinel (SentinelDesign(blackbox="greedy")): answers from the equality
# suite's greedy pools (bench/blackbox_pools.py; .parity/eqcache.sqlite, table ``pools``).
GREEDY_VARIANTS = {"reference": "reference", "replica": "replica", "q4_0": "q4_0", "template": "template",
                   "sampling_override": "faults", "q8": "q8", "q3_k_m": "q3_k_m", "q2": "q2"}


@dataclass
class GreedyPools:
    """Greedy answers (text, cut to the sentinel's 32 tokens): pool -> prompt id -> answers."""

    answers: dict[str, dict[str, list[str]]]

    @classmethod
    def load(cls, db: Path, pools: list[str]) -> GreedyPools:
        from blackbox_pools import POOL_TOKENS, _truncate, draw_body, pool_key

        from parity.suites.equality import PROMPTS
        from parity.watch._sentinel import GREEDY_TOKENS

        assert GREEDY_TOKENS <= POOL_TOKENS
        conn = sqlite3.connect(db)
        out: dict[str, dict[str, list[str]]] = {}
        for pool in pools:
            by_prompt: dict[str, list[str]] = {}
            for pid, prompt in PROMPTS:
                rows = conn.execute("select body from pools where variant=? and key=? order by idx",
                                    (GREEDY_VARIANTS[pool], pool_key(draw_body(prompt, pid, 0)))).fetchall()
                if not rows:
                    raise SystemExit(f"{db}: no greedy pool for {pool}/{pid}; run bench/blackbox_pools.py")
                by_prompt[pid] = [str(_truncate(orjson.loads(r[0]), GREEDY_TOKENS, False)["choices"][0]
                                      ["message"]["content"] or "") for r in rows]
            out[pool] = by_prompt
        conn.close()
        return cls(out)

    def count(self, pool: str) -> int:
        return sum(len(v) for v in self.answers[pool].values())

    def noisy(self, pool: str) -> int:
        """Prompts whose pool holds more than one distinct answer."""
        return sum(len(set(v)) > 1 for v in self.answers[pool].values())


def greedy_tick_observations(design: SentinelDesign, pools: GreedyPools, source: Source,
                             rng: random.Random, reference: str = "reference") -> list[float]:
    """One candidate tick of the greedy sentinel, through the watch's own ``observe``.

    Per prompt: the reference's two answers and the candidate's one are each drawn uniformly,
    with replacement, from the pools (greedy answers do not depend on the seed where the server
    is deterministic; where it is not, the pool holds the variation its draws showed).
    """
    assert design.greedy and not design.canary
    xs: list[Exchange] = []
    for pid in design.prompts:
        ref = pools.answers[reference][pid]
        cand = pools.answers[source(rng)][pid]
        for endpoint, text, cid in (("reference", rng.choice(ref), f"{pid}#0"),
                                    ("reference", rng.choice(ref), f"{pid}#1"),
                                    ("candidate", rng.choice(cand), f"{pid}#0")):
            xs.append(_exchange(Completion(content=text), endpoint, cid))
    return observe(design, xs, "reference", "candidate")


def count_alarms(mon: Monitor, ticks: Iterable[tuple[str, datetime, list[float]]]) -> dict[str, Any]:
    """Feed ``(tick id, time, observations)`` to ``mon``; count ticks, alarms and suspect entries."""
    alarms = suspects = n = 0
    top = 0.0
    for tick_id, at, observations in ticks:
        out = mon.observe(tick_id, at, observations)
        n += 1
        top = max(top, out.statistic)
        if out.transition is not None:
            alarms += out.transition.to_state is State.CHANGED
            suspects += out.transition.to_state is State.SUSPECT
    return {"ticks": n, "alarms": alarms, "suspects": suspects, "max_statistic": top,
            "alarm": mon.levels.alarm, "warn": mon.levels.warn}

"""Equality benches: a response cache in front of the real testbed, and a prefetcher.

Every equality request is a fixed function of (run seed, stream, prompt,
sample index) and llama-server answers a seeded request deterministically, so
an answer drawn once can stand for every later run that sends the same body.
The cache is keyed by (variant, body without ``model``), never by URL: ports
change when the testbed restarts.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import orjson

from parity.case import body_hash


class CachingTransport(httpx.AsyncBaseTransport):
    """Answers a chat request from the cache, or forwards it and stores a 200 answer."""

    def __init__(self, db: Path, variant: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.db = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("create table if not exists answers (variant text, key text, body blob,"
                        " primary key (variant, key))")
        self.variant = variant
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.hits = 0
        self.misses = 0

    def _key(self, request: httpx.Request) -> str:
        body: dict[str, Any] = orjson.loads(request.content)
        body.pop("model", None)
        return str(body_hash(body))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return await self.inner.handle_async_request(request)
        await request.aread()
        key = self._key(request)
        row = self.db.execute("select body from answers where variant=? and key=?",
                              (self.variant, key)).fetchone()
        if row is not None:
            self.hits += 1
            return httpx.Response(200, content=row[0], headers={"content-type": "application/json"},
                                  request=request)
        self.misses += 1
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        if response.status_code == 200:
            self.db.execute("insert or replace into answers values (?, ?, ?)", (self.variant, key, content))
        return httpx.Response(response.status_code, content=content, headers=response.headers,
                              request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def count(self) -> int:
        row = self.db.execute("select count(*) from answers where variant=?", (self.variant,)).fetchone()
        return int(row[0])


async def prefetch(db: Path, variant: str, base_url: str, bodies: list[dict[str, Any]],
                   concurrency: int = 8) -> int:
    """Draw every body not cached yet; returns how many were sent."""
    transport = CachingTransport(db, variant)
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=transport, timeout=600) as client:
        async def one(body: dict[str, Any]) -> None:
            async with sem:
                for _ in range(3):
                    r = await client.post(f"{base_url}/chat/completions", json={"model": "smollm2", **body})
                    if r.status_code == 200:
                        return

        await asyncio.gather(*(one(b) for b in bodies))
    return transport.misses


def testbed_urls(run_dir: Path) -> dict[str, str]:
    """Base URL of every running testbed variant (from the testbed's state file)."""
    state = orjson.loads((run_dir / "state.json").read_bytes())
    return {p["variant"]: p["base_url"] for p in state["processes"]}


async def run_seed(seed: int, candidates: dict[str, str], urls: dict[str, str], db: Path,
                   suite: Any, workdir: Path, transport: Any = None,
                   reference: str = "reference") -> dict[str, Any]:
    """One equality run (run seed ``seed``) of the reference against ``candidates``
    (endpoint name -> testbed variant serving it), through the cache (or through
    ``transport(db, variant)`` when given; ``reference``: the variant serving the reference).
    Verdicts by endpoint."""
    from parity.config import parse_config
    from parity.runner import Runner
    from parity.store import Store

    servers = {"reference": reference, **candidates}
    eps = [{"name": n, "base_url": urls[v], "model": "smollm2", "reference": n == "reference",
            "max_concurrency": 8, "timeout_s": 600.0, "max_attempts": 3} for n, v in servers.items()]
    cfg = parse_config({"endpoints": eps, "run": {"seed": seed}})
    store = Store(str(workdir / f"run-{seed}-{'-'.join(candidates)}.db"))
    make = transport or CachingTransport
    transports = {n: make(db, v) for n, v in servers.items()}
    try:
        result = await Runner(cfg, [suite], store, transport=lambda e: transports[e.name],
                              new_run=True).run()
    finally:
        store.close()
    return {v.endpoint: v for v in result.verdicts}


def testbed(run_dir: Path, variants: list[str], up: bool) -> Any:
    """A context manager: the testbed's URLs; started (and stopped after) when ``up``."""
    import contextlib
    import os

    from parity.testbed import ServerSettings, Testbed, default_cache_dir
    from parity.testbed.faults import FaultMode, FaultSpec

    @contextlib.contextmanager
    def cm() -> Any:
        # The fault proxy overrides sampling on every request: the "sampling override" variant.
        tb = Testbed(run_dir, default_cache_dir(os.environ),
                     settings=ServerSettings(threads=1, parallel=8),
                     faults=[FaultSpec(mode=FaultMode.SAMPLING_OVERRIDE, rate=1.0)])
        try:
            if up:
                tb.up(variants)
            yield testbed_urls(run_dir)
        finally:
            if up:
                tb.down()

    return cm()

"""Store throughput against a slow PostgreSQL: a verify run with the database 20 ms away.

    .venv/bin/python bench/store_slow_postgres.py [--delay-ms 20] [--cases 60] [--repeats 2] [--trials 3]

A TCP proxy (asyncio, its own process: the old store blocks the runner's event
loop, and must not block the proxy too) sits between parity and the PostgreSQL
on 127.0.0.1:5432 and holds every chunk for delay/2 in each direction: every
round trip costs ``--delay-ms`` more. Then the same toolcall verify run (the
fake endpoint in process through the ASGI transport, so the endpoint costs
nothing and the store is what is measured) is made with each way of storing:

  old        today's store before this change: one INSERT transaction per
             exchange, synchronous, on the event loop (every in-flight request
             waits for it);
  asyncio    SQLAlchemy's asyncio engine over asyncpg: one transaction per
             exchange, awaited, up to 16 connections at once;
  group      the store now: exchanges queued to one writer thread that commits
             whatever has arrived in one transaction (the caller awaits its commit).

Each trial uses a fresh PostgreSQL schema. Reported per way, as median [min, max]
over the trials: exchanges/s over the whole run (opening, resume look-up,
collection, evaluation, verdicts) and over the collection alone (first exchange
handed to the store to last one stored); and, during the collection, the share
of time the event loop was busy (sum of how late a 5 ms timer fired: parity's
own work, which with the in-process endpoint is most of it, plus any wait on
the database) and the longest stall: what every other request in flight on that
loop waits extra.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from parity.config import parse_config
from parity.exchange import Exchange
from parity.fake import FakeEndpoint, free_port
from parity.runner import Runner
from parity.store import AsyncStore, Store
from parity.store._tables import exchanges
from parity.suites.toolcall.dataset import builtin_dataset
from parity.suites.toolcall.suite import ToolcallSuite

PG = "127.0.0.1", 5432


# --- the delaying proxy (run as: store_slow_postgres.py _proxy PORT DELAY_MS) --------------------
async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward chunks in order, each no earlier than ``delay`` after it arrived (pipelined)."""
    due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        loop = asyncio.get_running_loop()
        while True:
            at, data = await due.get()
            if not data:
                break
            if (wait := at - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            due.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    due.put_nowait((0.0, b""))
    await sender


async def _proxy(port: int, delay_ms: float) -> None:
    half = delay_ms / 2000

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection(*PG)
        await asyncio.gather(_pipe(cr, sw, half), _pipe(sr, cw, half), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


# --- the ways of storing --------------------------------------------------------------------------
class _OldAio(AsyncStore):
    async def add_exchange(self, ex: Exchange) -> bool:
        return self.store.add_exchange(ex)  # the old behaviour: blocks the loop


class _EngineAio(AsyncStore):
    def __init__(self, store: Store, engine: AsyncEngine) -> None:
        super().__init__(store)
        self.engine = engine

    async def add_exchange(self, ex: Exchange) -> bool:
        try:  # autocommit: one round trip per INSERT, as the group writer does on PostgreSQL
            async with self.engine.connect() as conn:
                await conn.execute(insert(exchanges), self.store.exchange_row(ex))
        except IntegrityError:
            return False
        return True


class _Timed(AsyncStore):
    """Records when the first exchange was handed over and when the last one was stored."""

    def __init__(self, store: BenchStore, inner: AsyncStore) -> None:
        super().__init__(store)
        self.inner = inner
        self.times = store.times

    async def add_exchange(self, ex: Exchange) -> bool:
        self.times.setdefault("first", time.perf_counter())
        ok = await self.inner.add_exchange(ex)
        self.times["last"] = time.perf_counter()
        return ok


class BenchStore(Store):
    def __init__(self, url: str, way: str, async_engine: AsyncEngine | None) -> None:
        super().__init__(url)
        self.way = way
        self.async_engine = async_engine
        self.times: dict[str, float] = {}

    @property
    def aio(self) -> AsyncStore:
        if self.way == "old":
            return _Timed(self, _OldAio(self))
        if self.async_engine is not None:
            return _Timed(self, _EngineAio(self, self.async_engine))
        return _Timed(self, super().aio)


async def _lag(samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """(when, how late) for a 5 ms timer, over and over: what a request on this loop waits extra."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.005)
        samples.append((time.perf_counter(), max(0.0, loop.time() - t - 0.005)))


async def _run(runner: Runner, lags: list[tuple[float, float]], engine: AsyncEngine | None) -> Any:
    stop = asyncio.Event()
    ticker = asyncio.create_task(_lag(lags, stop))
    try:
        return await runner.run()
    finally:
        stop.set()
        await ticker
        if engine is not None:  # on the loop it ran on
            await engine.dispose()


def trial(way: str, port: int, args: argparse.Namespace) -> tuple[int, float, float, list[float]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"postgresql+psycopg://postgres@{PG[0]}:{PG[1]}/test")
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    where = f"postgres@127.0.0.1:{port}/test?options=-csearch_path%3D{schema}"
    # asyncpg takes the search path as a server setting, not in the URL.
    engine = create_async_engine(
        f"postgresql+asyncpg://{where.split('?')[0]}", pool_size=16, max_overflow=0,
        connect_args={"server_settings": {"search_path": schema}},
        isolation_level="AUTOCOMMIT") if way == "asyncio" else None
    store = BenchStore(f"postgresql://{where}", way, engine)
    try:
        cfg = parse_config({"endpoints": [
            {"name": "ref", "base_url": "http://fake.test/v1", "model": "m", "reference": True},
            {"name": "cand", "base_url": "http://fake.test/v1", "model": "m"}]})
        cfg.run = cfg.run.model_copy(update={"repeats": args.repeats, "reference_repeats": args.repeats})
        app = FakeEndpoint()
        runner = Runner(cfg, [ToolcallSuite(builtin_dataset()[:args.cases])], store,
                        transport=lambda _e: httpx.ASGITransport(app), new_run=True)
        lags: list[tuple[float, float]] = []
        t0 = time.perf_counter()
        result = asyncio.run(_run(runner, lags, engine))
        wall = time.perf_counter() - t0
        n = store.count_exchanges(result.run.id)
        first, last = store.times["first"], store.times["last"]
        # A sample stands for the stall [at - lag, at]: the part of it inside the collection counts.
        during = [max(0.0, min(at, last) - max(at - lag, first)) for at, lag in lags]
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return n, n / wall, n / (last - first), [sum(during) / (last - first), max(during, default=0)]


def _spread(xs: list[float]) -> str:
    """Median [min, max]."""
    return f"{statistics.median(xs):.0f} [{min(xs):.0f}, {max(xs):.0f}]"


def _wait_for(port: int) -> None:
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the delaying proxy did not start")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "_proxy":
        asyncio.run(_proxy(int(sys.argv[2]), float(sys.argv[3])))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--ways", default="old,asyncio,group")
    args = ap.parse_args()
    port = free_port()
    proxy = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "_proxy", str(port),
                              str(args.delay_ms)])
    try:
        _wait_for(port)
        print(f"PostgreSQL via a proxy adding {args.delay_ms:g} ms per round trip; {args.cases} cases "
              f"x{args.repeats} on 2 endpoints; {args.trials} trials per way\n")
        print(f"{'way':<8} {'exchanges':>9} {'run ex/s':>16} {'collection ex/s':>16} "
              f"{'loop busy %':>15} {'longest stall ms':>17}")
        for way in args.ways.split(","):
            runs = [trial(way, port, args) for _ in range(args.trials)]
            print(f"{way:<8} {runs[0][0]:>9} {_spread([r[1] for r in runs]):>16} "
                  f"{_spread([r[2] for r in runs]):>16} "
                  f"{statistics.median(r[3][0] for r in runs) * 100:>15.1f} "
                  f"{max(r[3][1] for r in runs) * 1e3:>17.1f}", flush=True)
    finally:
        proxy.terminate()
        proxy.wait()


if __name__ == "__main__":
    main()

"""The store for async callers: the same operations, none of them blocking the event loop.

Exchanges, the hot path (one per request), go to the group-commit writer thread
and the caller awaits its row's commit. Everything else (a handful of calls per
run) runs in a worker thread. Why threads and not SQLAlchemy's asyncio engine:
measured in docs/benchmarks.md ("Store"), group commit is what keeps a run fast
when the database is far away, and a thread keeps one synchronous code path
for both the CLI and the runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from parity.exchange import Exchange
from parity.verdict import Verdict

if TYPE_CHECKING:
    from ._store import RunRecord, Store


class AsyncStore:
    """Async view of a :class:`~parity.store.Store` (``store.aio``); closing is the Store's."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add_exchange(self, ex: Exchange) -> bool:
        """Store one exchange; returns once committed. False if that key was already stored."""
        row = self.store.exchange_row(ex)
        return await asyncio.wrap_future(self.store.writer().submit(row))

    async def create_run(self, *, fingerprint: str, parity_version: str, seed: int, reference: str,
                         suites: list[str], datasets: dict[str, str], config: dict[str, Any]) -> RunRecord:
        return await asyncio.to_thread(lambda: self.store.create_run(
            fingerprint=fingerprint, parity_version=parity_version, seed=seed, reference=reference,
            suites=suites, datasets=datasets, config=config))

    async def get_run(self, run_id: str) -> RunRecord:
        return await asyncio.to_thread(self.store.get_run, run_id)

    async def find_unfinished(self, fingerprint: str) -> RunRecord | None:
        return await asyncio.to_thread(self.store.find_unfinished, fingerprint)

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        return await asyncio.to_thread(self.store.list_runs, limit)

    async def finish_run(self, run_id: str) -> None:
        await asyncio.to_thread(self.store.finish_run, run_id)

    async def exchanges(
        self, run_id: str, *, endpoint: str | None = None, suite: str | None = None
    ) -> list[Exchange]:
        return await asyncio.to_thread(
            lambda: self.store.exchanges(run_id, endpoint=endpoint, suite=suite))

    async def count_exchanges(self, run_id: str) -> int:
        return await asyncio.to_thread(self.store.count_exchanges, run_id)

    async def save_verdicts(self, run_id: str, items: Iterable[Verdict]) -> None:
        batch = list(items)
        await asyncio.to_thread(self.store.save_verdicts, run_id, batch)

    async def verdicts(self, run_id: str) -> list[Verdict]:
        return await asyncio.to_thread(self.store.verdicts, run_id)

    async def latest_verdicts(self, endpoint: str) -> list[Verdict]:
        return await asyncio.to_thread(self.store.latest_verdicts, endpoint)

"""Group commit: one writer thread stores exchanges in batches, async callers await their row.

Each caller's future resolves only once the transaction holding its row has
committed, so "stored" still means durable (nothing acknowledged is lost on
kill -9); what changes is that rows arriving together share one transaction and
one multi-row INSERT. With a database 20 ms away that is the difference between
one exchange per three round trips and hundreds (docs/benchmarks.md, "Store").
The event loop never waits on the database: it only enqueues.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from ._tables import exchanges

_INSERT_EXCHANGE = insert(exchanges)
# Rows per transaction at most: bounds one statement's size and a failed batch's retry.
MAX_BATCH = 500

# PostgreSQL: a batch is one multi-row INSERT (SQLAlchemy's insertmanyvalues; MAX_BATCH rows fit
# one statement), atomic on its own, so autocommit saves the BEGIN and COMMIT round trips: one
# round trip per batch. SQLite keeps its transaction: there executemany runs row by row, and
# under autocommit each row would be a commit of its own.
_WRITE_OPTIONS: dict[str, dict[str, Any]] = {"postgresql": {"isolation_level": "AUTOCOMMIT"}}

_Item = tuple[dict[str, Any], "Future[bool]"]


class ExchangeWriter:
    """A daemon thread draining a queue of exchange rows into the store, a batch per commit."""

    def __init__(self, engine: Engine, *, name: str = "parity-store-writer") -> None:
        self._engine = engine.execution_options(**_WRITE_OPTIONS.get(engine.dialect.name, {}))
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, row: dict[str, Any]) -> Future[bool]:
        """Queue one row; the future holds True (stored), False (key already stored) or the error."""
        fut: Future[bool] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._queue.put((row, fut))
        return fut

    def close(self) -> None:
        """Write everything queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        live = [(row, fut) for row, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(_INSERT_EXCHANGE, [row for row, _ in live])
        except IntegrityError:
            # A key already stored (a resumed run racing itself): row by row, so only it is refused.
            for row, fut in live:
                _settle(fut, lambda r=row: self._write_one(r))
            return
        except Exception as e:  # the database is unreachable, or the like: every caller hears it
            for _, fut in live:
                fut.set_exception(e)
            return
        for _, fut in live:
            fut.set_result(True)

    def _write_one(self, row: dict[str, Any]) -> bool:
        try:
            with self._engine.begin() as conn:
                conn.execute(_INSERT_EXCHANGE, row)
        except IntegrityError:
            return False
        return True


def _settle(fut: Future[bool], fn: Any) -> None:
    try:
        fut.set_result(fn())
    except Exception as e:
        fut.set_exception(e)

"""PostgreSQL advisory locks: one scheduler at a time, one worker per job.

A session-level advisory lock belongs to one database connection: it is held
while that connection lives and released by PostgreSQL when the connection
ends — also when the process holding it is killed (the kernel closes the
socket, the server ends the session). That is what makes it a lock and not a
hope: a dead holder cannot keep it.

The scheduler writes its jobs over the very connection that holds its lock
(:meth:`AdvisoryLock.connection`), so a scheduler that lost its lock — its
session ended — cannot record a job any more: the session is the fencing
token. Correctness never rests on the lock alone: jobs are keyed and
idempotent (docs/watch.md, "Running at scale"); the lock keeps the work from
being done twice over.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

__all__ = ["AdvisoryLock", "lock_id"]

SCHEDULER_LOCK = "parity-watch-scheduler"


def lock_id(name: str) -> int:
    """A signed 64-bit advisory lock key for a name (namespaced so other applications' keys differ)."""
    digest = hashlib.sha256(b"parity-watch\0" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a connection of its own (blocking calls: run them in a thread)."""

    def __init__(self, engine: Engine, name: str) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("advisory locks need PostgreSQL")
        self._engine = engine
        self.name = name
        self.key = lock_id(name)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free; False (and nothing held) if another session holds it."""
        if self._conn is not None:
            return self.held()
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """True while the session holding the lock is alive (a round trip over it)."""
        if self._conn is None:
            return False
        try:
            q = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                     "AND pid = pg_backend_pid() AND objsubid = 1 "
                     "AND classid::bigint = :hi AND objid::bigint = :lo")
            unsigned = self.key & 0xFFFFFFFFFFFFFFFF
            n = self._conn.execute(q, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).scalar()
        except DBAPIError:
            self._drop()
            return False
        if not n:
            self._drop()
        return bool(n)

    @property
    def connection(self) -> Connection:
        """The lock's own session: writes through it fail once the lock is lost."""
        if self._conn is None:
            raise RuntimeError(f"lock {self.name!r} is not held")
        return self._conn

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except DBAPIError:
            pass  # the session is gone, and the lock with it
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except DBAPIError:
                pass

"""State shared between gateway processes: ejections, telemetry counters and watch states.

One process needs nothing (``MemoryState``). With a Redis URL, every process
publishes its ejections (a key per endpoint that expires with the probation)
and adds its outcome counts to per-endpoint hashes; each process reads both
back every ``shared_sync_s``, so an ejection decided anywhere applies
everywhere within one sync period. Watch states (``_watchbook``) travel the
same way: a process that reads them from the store publishes them (a key per
endpoint), and every process reads them back at each sync.

Redis is a convenience, never a dependency: the gateway talks to it only
through a ``SharedLink``, which bounds every call by a short timeout, never
raises, and while Redis is down or frozen keeps the counts and ejections
gathered meanwhile and stops calling it on the request path. Each process
still ejects and readmits on what it sees itself. When Redis answers again,
the link resends what was kept; if Redis lost its data (a restart), the
process's own ejections still in force are published again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import orjson
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as MetricCounter

log = logging.getLogger("parity.gateway")
_T = TypeVar("_T")


class SharedState(Protocol):
    async def publish_ejection(self, endpoint: str, until: float, reason: str, now: float) -> None: ...
    async def clear_ejection(self, endpoint: str) -> None: ...
    async def ejections(self, endpoints: list[str]) -> dict[str, tuple[float, str]]: ...
    async def add_counts(self, counts: dict[str, Counter[str]]) -> None: ...
    async def counts(self, endpoints: list[str]) -> dict[str, dict[str, int]]: ...
    async def lost(self, token: str) -> bool:
        """True when the shared store no longer holds what this process (``token``) wrote."""
        ...
    async def publish_watch(self, views: dict[str, bytes]) -> None: ...
    async def watch_states(self, endpoints: list[str]) -> dict[str, bytes]: ...
    async def aclose(self) -> None: ...


class MemoryState:
    """The single-process default: this process is the whole cluster."""

    def __init__(self) -> None:
        self._ejections: dict[str, tuple[float, str]] = {}
        self._counts: dict[str, Counter[str]] = {}
        self._watch: dict[str, bytes] = {}

    async def publish_ejection(self, endpoint: str, until: float, reason: str, now: float) -> None:
        self._ejections[endpoint] = (until, reason)

    async def clear_ejection(self, endpoint: str) -> None:
        self._ejections.pop(endpoint, None)

    async def ejections(self, endpoints: list[str]) -> dict[str, tuple[float, str]]:
        return {e: self._ejections[e] for e in endpoints if e in self._ejections}

    async def add_counts(self, counts: dict[str, Counter[str]]) -> None:
        for ep, c in counts.items():
            self._counts.setdefault(ep, Counter()).update(c)

    async def counts(self, endpoints: list[str]) -> dict[str, dict[str, int]]:
        return {e: dict(self._counts.get(e, {})) for e in endpoints}

    async def lost(self, token: str) -> bool:
        return False

    async def publish_watch(self, views: dict[str, bytes]) -> None:
        self._watch.update(views)

    async def watch_states(self, endpoints: list[str]) -> dict[str, bytes]:
        return {e: self._watch[e] for e in endpoints if e in self._watch}

    async def aclose(self) -> None:
        return None


class RedisState:
    """Redis-backed sharing; ``redis`` is a ``redis.asyncio.Redis`` (injected, so tests own it)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._r = redis
        self._p = prefix

    def _eject_key(self, endpoint: str) -> str:
        return f"{self._p}:eject:{endpoint}"

    def _count_key(self, endpoint: str) -> str:
        return f"{self._p}:counts:{endpoint}"

    def _watch_key(self, endpoint: str) -> str:
        return f"{self._p}:watch:{endpoint}"

    async def publish_watch(self, views: dict[str, bytes]) -> None:
        # No expiry: a record that is not refreshed grows stale, and staleness is judged
        # from the last tick it carries (docs/gateway.md), not from the key's age.
        if views:
            await self._r.mset({self._watch_key(e): v for e, v in views.items()})

    async def watch_states(self, endpoints: list[str]) -> dict[str, bytes]:
        values = await self._r.mget([self._watch_key(e) for e in endpoints])
        return {e: v for e, v in zip(endpoints, values, strict=True) if v}

    async def publish_ejection(self, endpoint: str, until: float, reason: str, now: float) -> None:
        ttl_ms = max(1, int((until - now) * 1000))
        await self._r.set(self._eject_key(endpoint), orjson.dumps({"until": until, "reason": reason}), px=ttl_ms)

    async def clear_ejection(self, endpoint: str) -> None:
        await self._r.delete(self._eject_key(endpoint))

    async def ejections(self, endpoints: list[str]) -> dict[str, tuple[float, str]]:
        values = await self._r.mget([self._eject_key(e) for e in endpoints])
        out: dict[str, tuple[float, str]] = {}
        for ep, raw in zip(endpoints, values, strict=True):
            if raw:
                rec = orjson.loads(raw)
                out[ep] = (float(rec["until"]), str(rec["reason"]))
        return out

    async def add_counts(self, counts: dict[str, Counter[str]]) -> None:
        if not any(counts.values()):
            return
        pipe = self._r.pipeline(transaction=False)
        for ep, c in counts.items():
            for field, n in c.items():
                pipe.hincrby(self._count_key(ep), field, n)
        await pipe.execute()

    async def counts(self, endpoints: list[str]) -> dict[str, dict[str, int]]:
        pipe = self._r.pipeline(transaction=False)
        for ep in endpoints:
            pipe.hgetall(self._count_key(ep))
        rows = await pipe.execute()
        return {
            ep: {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in row.items()}
            for ep, row in zip(endpoints, rows, strict=True)
        }

    async def lost(self, token: str) -> bool:
        # A key per process that lives as long as Redis keeps its data: gone means restarted
        # (or first contact), and whatever this process published must be published again.
        key, pipe = f"{self._p}:seen:{token}", self._r.pipeline(transaction=False)
        pipe.set(key, b"1", nx=True, ex=_SEEN_TTL_S)
        pipe.expire(key, _SEEN_TTL_S)
        created, _ = await pipe.execute()
        return bool(created)

    async def aclose(self) -> None:
        await self._r.aclose()


_SEEN_TTL_S = 24 * 3600


class SharedLink:
    """The gateway's only way to shared state: bounded, never raising, resending when back.

    ``publish``/``clear`` run on the request path: while the link is down they
    only note what to send. ``sync`` runs off the request path and is the one
    that finds out Redis is back.
    """

    def __init__(self, state: SharedState, endpoints: list[str], registry: CollectorRegistry, *,
                 timeout_s: float = 1.0) -> None:
        self.state = state
        self.timeout_s = timeout_s
        self.up = True
        self._names = endpoints
        self._token = uuid.uuid4().hex
        self._pending: dict[str, Counter[str]] = {n: Counter() for n in endpoints}
        self._own: dict[str, tuple[float, str]] = {}  # this process's ejections: (until, reason)
        self._unsent: set[str] = set()  # ejections decided or cleared while the link was down
        self._up_gauge = Gauge("parity_gateway_shared_state_up",
                               "1 while shared state (Redis) answers, 0 while degraded to local state.",
                               registry=registry)
        self._errors = MetricCounter("parity_gateway_shared_state_errors",
                                     "Calls to shared state (Redis) that failed or timed out.",
                                     ["operation"], registry=registry)
        self._up_gauge.set(1)

    async def _call(self, operation: str, make: Callable[[], Awaitable[_T]]) -> tuple[bool, _T | None]:
        """(True, result), or (False, None) after a failure or ``timeout_s``: never raises."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return True, await make()
        except Exception as exc:  # connection refused, reset, timeout, a garbled record
            self._errors.labels(operation).inc()
            if self.up:
                log.warning("shared state unavailable (%s: %s): continuing on local state; "
                            "counts and ejections are kept and resent when it answers",
                            operation, type(exc).__name__)
            self.up = False
            self._up_gauge.set(0)
            return False, None

    async def publish(self, endpoint: str, until: float, reason: str, now: float) -> None:
        self._own[endpoint] = (until, reason)
        if not self.up:
            self._unsent.add(endpoint)
            return
        ok, _ = await self._call("publish", lambda: self.state.publish_ejection(endpoint, until, reason, now))
        if not ok:
            self._unsent.add(endpoint)

    async def clear(self, endpoint: str) -> None:
        self._own.pop(endpoint, None)
        if not self.up:
            self._unsent.add(endpoint)
            return
        ok, _ = await self._call("clear", lambda: self.state.clear_ejection(endpoint))
        if not ok:
            self._unsent.add(endpoint)

    async def sync(
        self, fresh: dict[str, Counter[str]], now: float
    ) -> tuple[dict[str, dict[str, int]], dict[str, tuple[float, str]]] | None:
        """Send ``fresh`` counts (and any kept from before), resend what is owed, read the cluster's
        counts and ejections; None while shared state is unavailable (the counts are kept)."""
        for name, c in fresh.items():
            self._pending.setdefault(name, Counter()).update(c)
        ok, lost = await self._call("sync", lambda: self.state.lost(self._token))
        if not ok or not await self._resend(bool(lost), now):
            return None
        pending, self._pending = self._pending, {n: Counter() for n in self._names}
        ok, _ = await self._call("sync", lambda: self.state.add_counts(pending))
        if not ok:  # kept, and sent with the next sync
            for name, c in pending.items():
                self._pending[name].update(c)
            return None
        _, counts = await self._call("sync", lambda: self.state.counts(self._names))
        _, ejections = await self._call("sync", lambda: self.state.ejections(self._names))
        if counts is None or ejections is None:
            return None
        if not self.up:
            log.warning("shared state available again: resynchronised")
            self.up = True
            self._up_gauge.set(1)
        return counts, ejections

    async def watch(self, publish: dict[str, bytes]) -> dict[str, bytes] | None:
        """Publish this process's watch views (those it read from the store), read everyone's;
        None while shared state is unavailable (the store, if any, still feeds this process)."""
        if not self.up:
            return None
        if publish:
            ok, _ = await self._call("watch", lambda: self.state.publish_watch(publish))
            if not ok:
                return None
        _, got = await self._call("watch", lambda: self.state.watch_states(self._names))
        return got

    async def _resend(self, lost: bool, now: float) -> bool:
        """Ejections owed to shared state: all of this process's own after a loss, else the unsent."""
        self._own = {n: rec for n, rec in self._own.items() if rec[0] > now}
        owed = set(self._own) if lost else set()
        for name in sorted(owed | self._unsent):
            rec, ok = self._own.get(name), True
            if rec is not None:
                ok = await self._send_ejection(name, rec, now)
            elif not lost:  # nothing to clear in a store that lost its data
                ok, _ = await self._call("clear", functools.partial(self.state.clear_ejection, name))
            if not ok:
                return False
            self._unsent.discard(name)
        return True

    async def _send_ejection(self, name: str, rec: tuple[float, str], now: float) -> bool:
        ok, _ = await self._call("publish", functools.partial(self.state.publish_ejection, name, *rec, now))
        return ok

    async def aclose(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.state.aclose()
        except Exception:
            log.debug("shared state did not close cleanly", exc_info=True)

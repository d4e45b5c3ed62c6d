"""State shared between gateway processes: ejections and telemetry counters.

One process needs nothing (``MemoryState``). With a Redis URL, every process
publishes its ejections (a key per endpoint that expires with the probation)
and adds its outcome counts to per-endpoint hashes; each process reads both
back every ``shared_sync_s``, so an ejection decided anywhere applies
everywhere within one sync period.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

import orjson


class SharedState(Protocol):
    async def publish_ejection(self, endpoint: str, until: float, reason: str, now: float) -> None: ...
    async def clear_ejection(self, endpoint: str) -> None: ...
    async def ejections(self, endpoints: list[str]) -> dict[str, tuple[float, str]]: ...
    async def add_counts(self, counts: dict[str, Counter[str]]) -> None: ...
    async def counts(self, endpoints: list[str]) -> dict[str, dict[str, int]]: ...
    async def aclose(self) -> None: ...


class MemoryState:
    """The single-process default: this process is the whole cluster."""

    def __init__(self) -> None:
        self._ejections: dict[str, tuple[float, str]] = {}
        self._counts: dict[str, Counter[str]] = {}

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

    async def aclose(self) -> None:
        await self._r.aclose()

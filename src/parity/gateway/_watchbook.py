"""The watch's states per endpoint, as ':verified' admission reads them.

Cached and refreshed off the request path: a thread reads the store every
``refresh_s`` (one query), and with shared state every gateway process also
reads the states published in Redis at each sync, so an endpoint that the
watch marks ``changed`` leaves ``MODEL:verified`` within one period. A request
only looks at the cache.

An endpoint's watch state is the worst over its sentinel streams (its
sentinel, the reference's own stream): changed > recovering > suspect >
healthy; and, with ``suites = true`` (default), ``changed`` when a scheduled
full suite's state is ``changed`` (its last failing run; a suite's
``recovering`` does not count). Staleness is the sentinel's: a suite ticks
once a day or a week. Only the states in ``[watch] admit`` let it into ':verified'
(``healthy`` by default: see docs/gateway.md for why suspect and recovering
stay out). A state the watch has not refreshed for ``stale_after_s`` is stale:
said in the header and the metrics, and, with ``on_stale = "exclude"``
(default), the endpoint leaves ':verified' until the watch ticks it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from parity.store import Store

from ._config import WATCH_STATES, WatchSettings

__all__ = ["WATCH_SUITE", "WatchBook", "WatchView"]

log = logging.getLogger("parity.gateway")
WATCH_SUITE = "watch"  # how the watch's state is named beside the suites' verdicts (required_suites)
_RANK = {s: i for i, s in enumerate(WATCH_STATES)}  # healthy < suspect < recovering < changed


@dataclass(frozen=True)
class WatchView:
    """One endpoint's watch state as the gateway sees it."""

    endpoint: str
    state: str  # the worst of its streams
    stream: str  # the stream that has it
    since: float | None  # epoch seconds of the transition into it; None: never moved
    last_tick: float  # epoch seconds of the oldest of its streams' latest ticks
    statistic: float

    @property
    def since_utc(self) -> str:
        return _utc(self.since)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> WatchView | None:
        """A view published by another process; None if it is not one (never raises)."""
        try:
            d = orjson.loads(raw)
            view = cls(endpoint=str(d["endpoint"]), state=str(d["state"]), stream=str(d["stream"]),
                       since=None if d["since"] is None else float(d["since"]),
                       last_tick=float(d["last_tick"]), statistic=float(d["statistic"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        return view if view.state in _RANK else None


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def views_from_store(store: Store, endpoints: Sequence[str], suites: bool = True) -> dict[str, WatchView]:
    """Every configured endpoint's view from the watch's tables (blocking: run it in a thread)."""
    from parity.watch import REFERENCE_STREAM, SENTINEL, WatchStore

    wanted = set(endpoints)
    streams: dict[str, list[WatchView]] = {}
    for row, since in WatchStore(store).states_since():
        if row.endpoint in wanted:
            streams.setdefault(row.endpoint, []).append(WatchView(
                row.endpoint, row.state.value, row.stream, None if since is None else _epoch(since),
                _epoch(row.updated_at), row.statistic))
    out: dict[str, WatchView] = {}
    for ep, vs in streams.items():
        sentinel = [v for v in vs if v.stream in (SENTINEL, REFERENCE_STREAM)]
        counted = sentinel + [v for v in vs if suites and v.stream not in (SENTINEL, REFERENCE_STREAM)
                              and v.state == "changed"]
        if not counted:
            continue
        worst = max(counted, key=lambda v: (_RANK[v.state], v.stream))
        last = min(v.last_tick for v in sentinel) if sentinel else max(v.last_tick for v in counted)
        out[ep] = WatchView(ep, worst.state, worst.stream, worst.since, last, worst.statistic)
    return out


@functools.lru_cache(maxsize=1024)  # the same few views are refused on every request: format once
def _refused(v: WatchView) -> str:
    what = "e-CUSUM" if v.stream.startswith("sentinel") else "evidence"  # a suite: its run's e-value or 1/p
    return f"watch {v.state} since {v.since_utc} ({v.stream}, {what} {v.statistic:.3g})"


@functools.lru_cache(maxsize=1024)  # a handful of transition times, formatted on every answer
def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WatchBook:
    def __init__(self, store: Store | None, endpoints: Sequence[str], settings: WatchSettings,
                 clock: Callable[[], float]) -> None:
        self.settings = settings
        self._store = store if settings.enabled else None
        self._endpoints = list(endpoints)
        self._clock = clock
        self._views: dict[str, WatchView] = {}
        self._task: asyncio.Task[None] | None = None
        self._admit = frozenset(settings.admit)
        if settings.enabled and store is None:
            log.warning("gateway [watch] is enabled without a store (--db): watch states can only arrive "
                        "through Redis from gateway processes that have one")
        self.load()

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # refreshing, off the request path --------------------------------------------
    def load(self) -> None:
        """Read the states from the store (blocking: startup, or from a worker thread)."""
        if self._store is not None:
            self.merge(views_from_store(self._store, self._endpoints, self.settings.suites))

    def maybe_refresh(self) -> None:
        """Start the refresh loop once (called on the request path: a flag check after that).

        A loop rather than a reload per request: after an idle hour the first request
        must already see the states of now, not start reading them.
        """
        if self._store is None or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_s)
            try:
                await asyncio.to_thread(self.load)
            except Exception as exc:  # keep the states known; staleness says when they grow old
                log.warning("watch states: store read failed (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def merge(self, views: Mapping[str, WatchView]) -> None:
        """Take views (from the store, or published by another process) newer than the ones held."""
        if not self.enabled:
            return
        merged = dict(self._views)  # swapped in whole: readers on the loop never see it half done
        for ep, v in views.items():
            held = merged.get(ep)
            if ep in self._endpoints and (held is None or v.last_tick >= held.last_tick):
                merged[ep] = v
        self._views = merged

    def published(self) -> dict[str, bytes]:
        """The newest views this process holds, for the others (Redis); only a process with a store
        publishes (it is where new states enter the cluster)."""
        return {ep: v.to_json() for ep, v in self._views.items()} if self._store is not None else {}

    # reading, on the request path (cache only) ------------------------------------
    def view(self, endpoint: str) -> WatchView | None:
        return self._views.get(endpoint) if self.enabled else None

    def age(self, v: WatchView) -> float:
        return max(0.0, self._clock() - v.last_tick)

    def stale(self, v: WatchView) -> bool:
        return self.age(v) > self.settings.stale_after_s

    def why_not(self, endpoint: str) -> str | None:
        """None if the watch admits the endpoint to ':verified' (or says nothing of it), else why not."""
        v = self.view(endpoint)
        if v is None:
            return None
        if self.stale(v) and self.settings.on_stale == "exclude":
            return (f"watch stale: no tick for {self.age(v):.0f}s (> {self.settings.stale_after_s:g}s); "
                    f"last state {v.state}")
        return None if v.state in self._admit else _refused(v)

    def header(self, endpoint: str) -> str | None:
        """``watch=STATE (since T; last tick Ns ago[; stale])`` or None when there is no state."""
        v = self.view(endpoint)
        if v is None:
            return None
        stale = "; stale" if self.stale(v) else ""
        return f"{WATCH_SUITE}={v.state} (since {v.since_utc}; last tick {self.age(v):.0f}s ago{stale})"

    def register(self, registry: CollectorRegistry) -> None:
        if self.enabled:
            registry.register(_WatchCollector(self))


class _WatchCollector(Collector):
    def __init__(self, book: WatchBook) -> None:
        self._book = book

    def collect(self) -> Iterator[GaugeMetricFamily]:
        book = self._book
        state = GaugeMetricFamily("parity_gateway_watch_state", "1 for the endpoint's watch state "
                                  "(worst over its streams), 0 for the others.", labels=["endpoint", "state"])
        stale = GaugeMetricFamily("parity_gateway_watch_stale",
                                  "1 when the watch has not ticked the endpoint for stale_after_s.",
                                  labels=["endpoint"])
        age = GaugeMetricFamily("parity_gateway_watch_last_tick_age_seconds",
                                "Seconds since the watch last ticked the endpoint.", labels=["endpoint"])
        admitted = GaugeMetricFamily("parity_gateway_watch_admitted",
                                     "1 if the watch admits the endpoint to ':verified'.", labels=["endpoint"])
        for ep in book._endpoints:
            v = book.view(ep)
            if v is None:
                continue
            for s in WATCH_STATES:
                state.add_metric([ep, s], 1.0 if v.state == s else 0.0)
            stale.add_metric([ep], 1.0 if book.stale(v) else 0.0)
            age.add_metric([ep], book.age(v))
            admitted.add_metric([ep], 0.0 if book.why_not(ep) else 1.0)
        yield from (state, stale, age, admitted)


def decode_views(raw: Mapping[str, Any]) -> dict[str, WatchView]:
    """Views read back from shared state; records that do not parse are dropped."""
    out: dict[str, WatchView] = {}
    for ep, data in raw.items():
        v = WatchView.from_json(data) if isinstance(data, bytes | str) else None
        if v is not None and v.endpoint == ep:
            out[ep] = v
    return out

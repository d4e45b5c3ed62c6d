"""The watch loop: one process runs every endpoint's sentinel ticks, detects, records, alerts.

A tick is recorded in one transaction with the state and transition it
caused; its requests are stored one by one as they complete (keyed by the
tick id, like a run's), so a tick cut short by a kill is finished on restart
without re-sending what was stored. Only the latest due tick of each stream
is run: ticks missed while the watch was down are not made up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from parity.case import Case
from parity.client import ChatClient
from parity.config import ConfigError, EndpointConfig, ParityConfig
from parity.exchange import Exchange
from parity.runner import EndpointSender, TransportFactory
from parity.store import Store

from ._alerts import AlertSender, alert_body, log_transition
from ._config import WatchConfig
from ._detect import Monitor, State
from ._schedule import Cost, Tick, Ticks, over_budget
from ._sentinel import SENTINEL, SentinelDesign, observe, observe_reference
from ._store import StateRow, TickRecord, WatchStore

__all__ = ["REFERENCE_STREAM", "WatchService", "exchange_key"]

logger = logging.getLogger("parity.watch")
REFERENCE_STREAM = "sentinel-reference"  # the reference against its own past
TOKENS_PER_REQUEST = 64  # the first tick's token estimate, before any usage is known
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def exchange_key(x: Exchange) -> str:
    return f"{x.run_id}/{x.endpoint}/{x.suite}/{x.case_hash}/{x.repeat}"


class _Quiet:
    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None:
        pass

    def advance(self, endpoint: str, exchange: Exchange) -> None:
        pass


def _usage_tokens(x: Exchange) -> int:
    usage = (x.completion.usage if x.completion else None) or {}
    total = usage.get("total_tokens")
    if isinstance(total, int) and total >= 0:
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    return sum(p for p in parts if isinstance(p, int) and p >= 0)


class WatchService:
    def __init__(self, config: ParityConfig, watch: WatchConfig, store: Store, *,
                 keys: Mapping[str, str | None] | None = None, transport: TransportFactory | None = None,
                 alerts: AlertSender | None = None, clock: Clock = lambda: datetime.now(UTC)) -> None:
        if any(h > 0 for h in watch.suites.values()):
            raise ConfigError("[watch.suites]: scheduled full suites are not implemented yet; "
                              "only the sentinel runs (see docs/watch.md)")
        self.config, self.watch, self.clock = config, watch, clock
        self.store = WatchStore(store)
        self.alerts = alerts
        self._keys = dict(keys or {})
        self._transport = transport or (lambda _e: None)
        self._clients: dict[str, ChatClient] = {}
        self._monitors: dict[tuple[str, str], Monitor] = {}
        ref = config.reference.name
        self.designs = {e.name: SentinelDesign.make(watch.for_endpoint(e.name).prompts, seed=watch.seed,
                                                    canary=watch.for_endpoint(e.name).canary)
                        for e in config.endpoints}
        self.schedules = {e.name: Ticks(e.name, REFERENCE_STREAM if e.name == ref else SENTINEL,
                                        watch.for_endpoint(e.name).period_minutes * 60.0,
                                        watch.jitter, watch.seed) for e in config.endpoints}

    # the loop -----------------------------------------------------------
    async def run_once(self) -> list[TickRecord]:
        """Run the latest due tick of every endpoint not yet recorded (reference first)."""
        now = self.clock()
        due = [s.latest(now) for s in self.schedules.values()]
        due = [t for t in due if not self.store.has_tick(t.id)]
        ref = self.config.reference.name
        first = [t for t in due if t.endpoint == ref]
        done = [await self._run(t) for t in first]
        done += await asyncio.gather(*(self._run(t) for t in due if t.endpoint != ref))
        if self.alerts is not None:
            self.alerts.notify()
        return done

    async def run_forever(self, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            await self.run_once()
            now = self.clock()
            wake = min(s.after(now).at for s in self.schedules.values())
            await sleep(max(0.0, (wake - now).total_seconds()))

    async def aclose(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()

    # one tick -----------------------------------------------------------
    async def _run(self, tick: Tick) -> TickRecord:
        ref = self.config.reference.name
        design = self.designs[tick.endpoint]
        is_ref = tick.endpoint == ref
        plan = {ref: 3} if is_ref else {ref: 2, tick.endpoint: 1}
        skip = self._over_budget(tick, {e: design.requests(n) for e, n in plan.items()})
        if skip is not None:
            rec = TickRecord(id=tick.id, endpoint=tick.endpoint, stream=tick.stream, index=tick.index,
                             scheduled_at=tick.at, status="skipped", reason=skip)
            self.store.record_tick(rec)
            logger.warning("watch.skip %s %s: %s", tick.endpoint, tick.at.isoformat(), skip)
            return rec
        stored = {(x.endpoint, x.case_hash, x.repeat): x for x in self.store.store.exchanges(tick.id)}
        streams = {ref: "reference", tick.endpoint: "candidate"} if not is_ref else {ref: "reference"}
        sent = await asyncio.gather(*(self._send(tick, e, design.cases(tick.id, streams[e], n), stored)
                                      for e, n in plan.items()))
        exchanges = [x for xs in sent for x in xs]
        if is_ref:
            past = self.store.store.exchanges(self._lagged(tick).id, endpoint=ref)
            obs = observe_reference(design, exchanges, past, ref)
        else:
            obs = observe(design, exchanges, ref, tick.endpoint)
        return self._decide(tick, obs, exchanges)

    def _lagged(self, tick: Tick) -> Tick:
        period_s = self.schedules[tick.endpoint].period_s
        lag = max(1, round(self.watch.reference_lag_hours * 3600.0 / period_s))
        return self.schedules[tick.endpoint].at(tick.index - lag)

    def _over_budget(self, tick: Tick, requests: Mapping[str, int]) -> str | None:
        for endpoint, n in requests.items():
            limit = self.watch.for_endpoint(endpoint)
            per_request = self._tokens_per_request(endpoint)
            why = over_budget(self.store.spent(endpoint, tick.day), Cost(n, n * per_request),
                              limit.requests_per_day, limit.tokens_per_day)
            if why is not None:
                return f"{endpoint}: {why}"
        return None

    def _tokens_per_request(self, endpoint: str) -> int:
        last = self.store.ticks(endpoint, status="done", last=1)
        n, tokens = (last[0].costs.get(endpoint, (0, 0)) if last else (0, 0))
        return -(-tokens // n) if n else TOKENS_PER_REQUEST

    async def _send(self, tick: Tick, endpoint: str, cases: list[Case],
                    stored: dict[tuple[str, str, int], Exchange]) -> list[Exchange]:
        client = self._client(self.config.endpoint(endpoint))
        mine = {(h, r): x for (e, h, r), x in stored.items() if e == endpoint}
        sender = EndpointSender(run_id=tick.id, suite=SENTINEL, client=client, store=self.store.store,
                                stored=mine, progress=_Quiet())
        return await sender.send_all((c, 0) for c in cases)

    def _client(self, endpoint: EndpointConfig) -> ChatClient:
        if endpoint.name not in self._clients:
            self._clients[endpoint.name] = ChatClient(endpoint, api_key=self._keys.get(endpoint.name),
                                                      transport=self._transport(endpoint))
        return self._clients[endpoint.name]

    # detection and recording ---------------------------------------------
    def monitor(self, endpoint: str, stream: str) -> Monitor:
        key = (endpoint, stream)
        if key not in self._monitors:
            levels = self.watch.levels(endpoint)
            row = self.store.state(endpoint, stream)
            mon = Monitor(endpoint, stream, levels)
            if row is not None:
                mon.state, mon.seq, mon.quiet = row.state, row.seq, row.quiet
            done = self.store.ticks(endpoint, stream, status="done", last=levels.window)
            mon.rebuild([(t.id, t.observations) for t in done])
            self._monitors[key] = mon
        return self._monitors[key]

    def _decide(self, tick: Tick, obs: list[float], exchanges: list[Exchange]) -> TickRecord:
        keys = [exchange_key(x) for x in exchanges]
        ref = self.config.reference.name
        ref_state = None if tick.endpoint == ref else self.monitor(ref, REFERENCE_STREAM).state
        mon = self.monitor(tick.endpoint, tick.stream)
        try:
            out = mon.observe(tick.id, tick.at, obs, keys, reference_state=ref_state)
            spent: dict[str, tuple[int, int]] = {}
            for x in exchanges:
                n, t = spent.get(x.endpoint, (0, 0))
                spent[x.endpoint] = (n + 1, t + _usage_tokens(x))
            rec = TickRecord(id=tick.id, endpoint=tick.endpoint, stream=tick.stream, index=tick.index,
                             scheduled_at=tick.at, status="done", observations=obs, statistic=out.statistic,
                             state=out.state, alarm=mon.levels.alarm, warn=mon.levels.warn,
                             exchange_keys=keys, costs=spent)
            row = StateRow(endpoint=tick.endpoint, stream=tick.stream, state=out.state, seq=mon.seq,
                           quiet=mon.quiet, tick_id=tick.id, statistic=out.statistic,
                           updated_at=datetime.now(UTC))
            tr = out.transition
            if not self.store.record_tick(rec, row, tr, alert_body(tr) if tr else None):
                raise RuntimeError(f"tick {tick.id} was recorded by another process")
        except BaseException:
            self._monitors.pop((tick.endpoint, tick.stream), None)  # rebuilt from the store
            raise
        if tr is not None:
            log_transition(tr)
        return rec

    def states(self) -> dict[tuple[str, str], State]:
        return {(r.endpoint, r.stream): r.state for r in self.store.states()}

"""The watch loop: every endpoint's sentinel ticks and scheduled suites, detection, records, alerts.

A tick is a job keyed by (endpoint, stream, scheduled time) — its id. It is
recorded in one transaction with the state and transition it caused; its
requests are stored one by one as they complete (keyed by the tick id, like a
run's), and each is written to the send journal before it leaves, so a tick
cut short by a kill is finished on restart without sending anything twice.
On PostgreSQL a job runs under an advisory lock of its key, so two workers
handed the same job never run it at once. Only the latest due tick of each
stream is run: ticks missed while the watch was down are not made up. Store
calls run in threads: a slow database never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from parity.case import Case
from parity.client import ChatClient
from parity.config import EndpointConfig, ParityConfig
from parity.exchange import Exchange
from parity.runner import EndpointSender, TransportFactory
from parity.store import Store

from ._alerts import AlertSender, alert_body, log_transition
from ._config import WatchConfig
from ._detect import Monitor, State
from ._locks import AdvisoryLock
from ._modes import SentinelModes
from ._reprobe import is_probe
from ._schedule import Cost, Tick, Ticks, over_budget
from ._sentinel import SENTINEL, SentinelDesign, observe, observe_reference
from ._store import StateRow, TickRecord, WatchStore
from ._suites import SuiteTicks

__all__ = ["REFERENCE_STREAM", "StoreJournal", "StreamBusy", "WatchService", "exchange_key"]

logger = logging.getLogger("parity.watch")
REFERENCE_STREAM = "sentinel-reference"  # the reference against its own past
PENDING_HORIZON = timedelta(days=1)  # a job started longer ago and never stored is abandoned
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


def usage_tokens(x: Exchange) -> int:
    usage = (x.completion.usage if x.completion else None) or {}
    total = usage.get("total_tokens")
    if isinstance(total, int) and total >= 0:
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    return sum(p for p in parts if isinstance(p, int) and p >= 0)


class StreamBusy(RuntimeError):
    """Another process runs a tick of this stream now: try the job again later."""


class StoreJournal:
    """The send journal in the store: a request is recorded (in a thread) before it leaves."""

    def __init__(self, store: WatchStore) -> None:
        self._store = store

    async def claim(self, key: str) -> bool:
        return await asyncio.to_thread(self._store.claim_send, key)


class WatchService:
    def __init__(self, config: ParityConfig, watch: WatchConfig, store: Store, *,
                 keys: Mapping[str, str | None] | None = None, transport: TransportFactory | None = None,
                 alerts: AlertSender | None = None, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.config, self.watch, self.clock = config, watch, clock
        self.store = WatchStore(store)
        self.journal = StoreJournal(self.store)
        self.alerts = alerts
        self._keys = dict(keys or {})
        self._transport = transport or (lambda _e: None)
        self._clients: dict[str, ChatClient] = {}
        self._monitors: dict[tuple[str, str], Monitor] = {}
        ref = config.reference.name
        # `controls` is a candidate's setting: the reference's own stream compares with its past.
        self.designs = {e.name: SentinelDesign.make(watch.for_endpoint(e.name).prompts, seed=watch.seed,
                                                    canary=watch.for_endpoint(e.name).canary,
                                                    blackbox=watch.for_endpoint(e.name).sentinel_blackbox,
                                                    logprobs=watch.for_endpoint(e.name).logprobs,
                                                    controls=1 if e.name == ref else
                                                    watch.for_endpoint(e.name).controls)
                        for e in config.endpoints}
        self.schedules = {e.name: Ticks(e.name, REFERENCE_STREAM if e.name == ref else SENTINEL,
                                        watch.for_endpoint(e.name).period_minutes * 60.0,
                                        watch.jitter, watch.seed) for e in config.endpoints}
        self.suites = SuiteTicks(self)
        self.modes = SentinelModes(self.designs, watch, ref, self._last_done)
        self._locked = store.engine.dialect.name == "postgresql"

    def streams(self) -> list[Ticks]:
        """Every schedule: the sentinel of each endpoint, then each candidate's scheduled suites."""
        return [*self.schedules.values(), *self.suites.schedules.values()]

    def ticks_due(self, now: datetime) -> list[Tick]:
        """The latest due tick of every stream (reference first), recorded or not."""
        ref = self.config.reference.name
        due = [s.latest(now) for s in self.streams()]
        return sorted(due, key=lambda t: t.endpoint != ref)

    def schedule(self, endpoint: str, stream: str) -> Ticks:
        if self.schedules.get(endpoint) is not None and self.schedules[endpoint].stream == stream:
            return self.schedules[endpoint]
        found = self.suites.schedules.get((endpoint, stream))
        if found is None:
            raise KeyError(f"no stream {stream!r} of endpoint {endpoint!r} in this configuration")
        return found

    # the loop -----------------------------------------------------------
    async def run_once(self) -> list[TickRecord]:
        """Run the latest due tick of every stream not yet recorded (the reference's first), and
        first every job started before and not recorded (cut short by a crash)."""
        due = await asyncio.to_thread(self._unfinished)
        due += [t for t in self.ticks_due(self.clock()) if t.id not in {u.id for u in due}]
        streams: dict[tuple[str, str], list[Tick]] = {}
        for t in sorted(due, key=lambda t: t.at):
            streams.setdefault((t.endpoint, t.stream), []).append(t)
        ref = self.config.reference.name
        done = [r for key, ts in streams.items() if key[0] == ref for r in await self._in_order(ts)]
        for rs in await asyncio.gather(*(self._in_order(ts) for key, ts in streams.items() if key[0] != ref)):
            done += rs
        if self.alerts is not None:
            self.alerts.notify()
        return done

    async def _in_order(self, ticks: list[Tick]) -> list[TickRecord]:
        """One stream's ticks, one after the other (its detector is sequential)."""
        out = []
        for t in ticks:
            try:
                rec = await self.run_job(t)
            except StreamBusy as e:
                logger.warning("watch.job %s: %s", t.id, e)
                continue
            if rec is not None:
                out.append(rec)
        return out

    async def run_forever(self, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            await self.run_once()
            now = self.clock()
            wake = min(s.after(now).at for s in self.streams())
            await sleep(max(0.0, (wake - now).total_seconds()))

    def _unfinished(self) -> list[Tick]:
        out = []
        for job in self.store.pending_jobs(since=self.clock() - PENDING_HORIZON):
            try:
                out.append(self.schedule(job.endpoint, job.stream).at(job.tick_index))
            except KeyError:  # a stream no longer configured
                logger.warning("watch.job %s: %s/%s is not configured any more; left", job.key,
                               job.endpoint, job.stream)
        return out

    async def run_job(self, tick: Tick) -> TickRecord | None:
        """Run one job (a tick) unless it is stored; None then.

        On PostgreSQL the job runs under the advisory lock of its stream, so ticks of one stream
        never run at once (the detector is sequential); :class:`StreamBusy` when another process
        holds it (a task engine retries the job later). A tick older than one already recorded
        for its stream is recorded ``skipped`` (superseded), never fed to the detector.
        """
        if await asyncio.to_thread(self.store.has_tick, tick.id):
            return None
        lock = AdvisoryLock(self.store.engine, f"{tick.endpoint}\0{tick.stream}") if self._locked else None
        if lock is not None and not await asyncio.to_thread(lock.try_acquire):
            raise StreamBusy(f"{tick.endpoint}/{tick.stream}: another process runs a tick of it")
        try:
            if lock is not None and await asyncio.to_thread(self.store.has_tick, tick.id):
                return None  # finished by another worker between the check and the lock
            newer = await asyncio.to_thread(self.store.ticks, tick.endpoint, tick.stream, last=1)
            if newer and newer[0].scheduled_at > tick.at:
                return await self.skip(tick, f"superseded: tick {newer[0].id} of this stream was "
                                             "recorded first")
            await asyncio.to_thread(self.store.add_job, tick.id, tick.endpoint, tick.stream, tick.index,
                                    tick.at, f"local:{os.getpid()}")  # known as started, if cut short
            logger.info("watch.job start %s %s %s", tick.endpoint, tick.stream, tick.id)
            if tick.stream in (SENTINEL, REFERENCE_STREAM):
                return await self._run(tick)
            return await self.suites.run(tick)
        finally:
            if lock is not None:
                await asyncio.to_thread(lock.release)

    async def aclose(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()

    # one tick -----------------------------------------------------------
    def design(self, endpoint: str) -> tuple[SentinelDesign, str | None]:
        """The endpoint's sentinel now, and why it is black-box where logprobs were configured (blocking).

        An endpoint found answering without logprobs (:func:`._sentinel.logprobs_missing`) is
        watched by its configured black-box sentinel from its next tick on; so is a candidate
        whose reference was (its observations compare with the reference's answers). The switch
        is read from the endpoint's newest done tick, which carries it (``logprobs_missing``):
        it survives restarts and reaches every worker. A re-probe that finds logprobs again
        (:mod:`._reprobe`) stores the tick without it: the logprob sentinel from the next tick on.
        """
        return self.modes.mode(endpoint)[:2]

    def _last_done(self, endpoint: str) -> TickRecord | None:
        last = self.store.ticks(endpoint, self.schedules[endpoint].stream, status="done", last=1)
        return last[0] if last else None

    async def _run(self, tick: Tick) -> TickRecord:
        ref = self.config.reference.name
        design, missing, last = await asyncio.to_thread(self.modes.mode, tick.endpoint)
        is_ref = tick.endpoint == ref
        plan = {ref: 3} if is_ref else {ref: design.reference_draws, tick.endpoint: 1}
        streams = {ref: "reference", tick.endpoint: "candidate"} if not is_ref else {ref: "reference"}
        cases = {e: design.cases(tick.id, streams[e], n) for e, n in plan.items()}
        probe = self.modes.probe(tick, design, missing, last)
        if probe is not None:  # one more request of the tick: planned, keyed and charged like the others
            cases[tick.endpoint].append(probe)
        skip = await asyncio.to_thread(self._over_budget, tick, {e: len(cs) for e, cs in cases.items()})
        if skip is not None:
            return await self.skip(tick, skip)
        stored = {(x.endpoint, x.case_hash, x.repeat): x for x in await self.store.store.aio.exchanges(tick.id)}
        sent = await asyncio.gather(*(self._send(tick, e, cs, stored) for e, cs in cases.items()))
        exchanges = [x for xs in sent for x in xs]
        drawn = [x for x in exchanges if not is_probe(x)]  # the probe is no observation
        if is_ref:
            past = await self.store.store.aio.exchanges(self._lagged(tick).id, endpoint=ref)
            obs = observe_reference(design, drawn, [x for x in past if not is_probe(x)], ref)
        else:
            obs = observe(design, drawn, ref, tick.endpoint)
        missing, note, asked = self.modes.switch(tick, design, exchanges, missing, last)
        return await asyncio.to_thread(self._decide, tick, obs, exchanges, missing, note, asked)

    async def skip(self, tick: Tick, why: str) -> TickRecord:
        """Record a tick skipped for its budget (with why), on the candidate's or the reference's account."""
        rec = TickRecord(id=tick.id, endpoint=tick.endpoint, stream=tick.stream, index=tick.index,
                         scheduled_at=tick.at, status="skipped", reason=why)
        await asyncio.to_thread(self.store.record_tick, rec)
        logger.warning("watch.skip %s %s %s: %s", tick.endpoint, tick.stream, tick.at.isoformat(), why)
        return rec

    def _lagged(self, tick: Tick) -> Tick:
        period_s = self.schedules[tick.endpoint].period_s
        lag = max(1, round(self.watch.reference_lag_hours * 3600.0 / period_s))
        return self.schedules[tick.endpoint].at(tick.index - lag)

    def _over_budget(self, tick: Tick, requests: Mapping[str, int]) -> str | None:
        """Why sending ``requests`` (endpoint -> count) now would pass a daily limit (blocking)."""
        for endpoint, n in requests.items():
            limit = self.watch.for_endpoint(endpoint)
            per_request = self._tokens_per_request(endpoint)
            why = over_budget(self.store.spent(endpoint, tick.day), Cost(n, n * per_request),
                              limit.requests_per_day, limit.tokens_per_day)
            if why is not None:
                return f"{endpoint}: {why}"
        return None

    def _tokens_per_request(self, endpoint: str) -> int:
        last = self.store.ticks(endpoint, self.schedules[endpoint].stream, status="done", last=1)
        n, tokens = (last[0].costs.get(endpoint, (0, 0)) if last else (0, 0))
        return -(-tokens // n) if n else TOKENS_PER_REQUEST

    async def _send(self, tick: Tick, endpoint: str, cases: list[Case],
                    stored: dict[tuple[str, str, int], Exchange]) -> list[Exchange]:
        client = self._client(self.config.endpoint(endpoint))
        mine = {(h, r): x for (e, h, r), x in stored.items() if e == endpoint}
        sender = EndpointSender(run_id=tick.id, suite=SENTINEL, client=client, store=self.store.store,
                                stored=mine, progress=_Quiet(), journal=self.journal)
        return await sender.send_all((c, 0) for c in cases)

    def client(self, endpoint: EndpointConfig) -> ChatClient:
        return self._client(endpoint)

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
            mon = Monitor(endpoint, stream, levels, controls=self.controls(endpoint, stream))
            if row is not None:
                mon.state, mon.seq, mon.quiet = row.state, row.seq, row.quiet
            done = self.store.ticks(endpoint, stream, status="done", last=levels.window)
            # Only the ticks since `controls` last changed: older ones hold the other kind of
            # observation (g or e-values); leaving them out only drops processes (still valid).
            same = len(done)
            while same > 0 and done[same - 1].controls == mon.controls:
                same -= 1
            mon.rebuild([(t.id, t.observations) for t in done[same:]])
            self._monitors[key] = mon
        return self._monitors[key]

    def controls(self, endpoint: str, stream: str) -> int:
        """Reference controls per request of a stream's ticks (1 but on a candidate's sentinel)."""
        return self.designs[endpoint].controls if stream == SENTINEL else 1

    def _decide(self, tick: Tick, obs: list[float], exchanges: list[Exchange], missing: str | None = None,
                note: str | None = None, asked: int | None = None) -> TickRecord:
        keys = [exchange_key(x) for x in exchanges]
        ref = self.config.reference.name
        if self._locked:  # a shared store: other workers may have moved these streams since
            self._monitors.pop((tick.endpoint, tick.stream), None)
            self._monitors.pop((ref, REFERENCE_STREAM), None)
        ref_state = None if tick.endpoint == ref else self.monitor(ref, REFERENCE_STREAM).state
        mon = self.monitor(tick.endpoint, tick.stream)
        try:
            out = mon.observe(tick.id, tick.at, obs, keys, reference_state=ref_state)
            spent: dict[str, tuple[int, int]] = {}
            for x in exchanges:
                n, t = spent.get(x.endpoint, (0, 0))
                spent[x.endpoint] = (n + 1, t + usage_tokens(x))
            rec = TickRecord(id=tick.id, endpoint=tick.endpoint, stream=tick.stream, index=tick.index,
                             scheduled_at=tick.at, status="done", observations=obs, statistic=out.statistic,
                             state=out.state, alarm=mon.levels.alarm, warn=mon.levels.warn,
                             exchange_keys=keys, costs=spent, logprobs_missing=missing, reason=note,
                             logprobs_asked=asked if missing is not None else None, controls=mon.controls)
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

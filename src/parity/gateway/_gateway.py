"""The gateway core: plan, attempt, validate, fall back, observe. No HTTP framework here."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from parity.client import default_transport
from parity.client._client import endpoint_tls
from parity.store import Store

from ._blame import ENDPOINT_ONLY, Blame
from ._config import GatewayConfig, ModelAlias
from ._door import ToolsDoor
from ._ejection import Ejector
from ._events import GatewayEvents
from ._provider import ProviderPrefs, apply_provider, wants_provider
from ._router import Plan, Router
from ._scrub import Scrubber
from ._shared import MemoryState, SharedLink, SharedState
from ._sticky import StickyTable, sticky_key
from ._telemetry import FAILURES, EndpointStats, Metrics
from ._upstream import Attempt, Upstream
from ._validation import ToolValidator
from ._verdicts import VerdictBook
from ._watchbook import WatchBook, decode_views

PROBE_BODY: dict[str, Any] = {
    "messages": [{"role": "user", "content": "What is the weather in Paris? Use the tool."}],
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "max_tokens": 64,
}


@dataclass(slots=True)
class ChatRequest:
    """A parsed, admitted client request (the body is otherwise passed through untouched)."""

    body: dict[str, Any]
    alias: ModelAlias
    verified: bool
    stream: bool
    tools: list[dict[str, Any]] | None
    ignore: frozenset[str]
    sticky_key: str | None
    client: str = "-"  # who asked: a gateway key's hash prefix, or the address (see _blame)
    provider: ProviderPrefs | None = None  # the OpenRouter-style body object, parsed

    def body_for(self, up: Upstream) -> dict[str, Any]:
        """The body for one upstream: the provider object only for routers that read it."""
        if self.provider is not None and wants_provider(up):
            return {**self.body, "provider": self.provider.raw}
        return self.body

    @property
    def model(self) -> str:
        return self.alias.alias + (":verified" if self.verified else "")


@dataclass(slots=True)
class Served:
    """A successful answer: either whole bytes or a stream, plus headers naming the endpoint."""

    headers: dict[str, str]
    body: bytes | None = None
    stream: Streamed | None = None


class Streamed(Protocol):
    """A committed stream on its way to the client (``_dispatch.Relay``)."""

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None:
        """Ends it however far it got (also when never iterated); safe to repeat."""


class Gateway:
    def __init__(
        self, config: GatewayConfig, *, store: Store | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        shared: SharedState | None = None, environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time, rng: random.Random | None = None,
    ) -> None:
        import os

        self.config = config
        env = os.environ if environ is None else environ
        s = config.server
        injected = transports or {}
        self.upstreams = {
            e.name: Upstream(e, e.api_key(env),
                             injected.get(e.name) or default_transport(s.max_connections, url=e.base_url,
                                                                       tls=endpoint_tls(e)),
                             s.connect_timeout_s, s.max_response_bytes)
            for e in config.endpoints
        }
        names = list(self.upstreams)
        self.scrubber = Scrubber(v for up in self.upstreams.values() for v in up.secrets)
        self.stats = {n: EndpointStats(config.ejection.window) for n in names}
        self.clock = clock
        self.ejector = Ejector(names, config.ejection, clock)
        self.blame = Blame(names, config.ejection.min_distinct_clients, config.ejection.window)
        self.metrics = Metrics(self.stats, self.ejector.admitted)
        watch = WatchBook(store, names, config.watch, clock)  # the watch's states, for ':verified'
        watch.register(self.metrics.registry)
        self.verdicts = VerdictBook(store, names, s.verdict_refresh_s, clock, watch)
        self.sticky = StickyTable(s.sticky_ttl_s, clock)
        self.router = Router(config, self.upstreams, self.stats, self.ejector, self.verdicts, clock,
                             rng or random.Random())
        self.validator = ToolValidator(s.schema_draft, {e.name: e.declared.family for e in config.endpoints})
        self.door = ToolsDoor(self.validator.schemas)
        self.shared: SharedState = shared or MemoryState()
        self._distributed = shared is not None
        self._last_sync = float("-inf")
        self._pending_counts: dict[str, Counter[str]] = {n: Counter() for n in names}
        self.cluster_counts: dict[str, dict[str, int]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Shared state never fails or holds up a request: every call bounded, none raises.
        self.link = SharedLink(self.shared, names, self.metrics.registry)
        self._sync_task: asyncio.Task[None] | None = None
        self.events = GatewayEvents(self)  # logs, token metrics, traces

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.verdicts.aclose()
        for up in self.upstreams.values():
            await up.aclose()
        await self.link.aclose()

    # housekeeping, at most once per sync period, on the request path -------------
    async def housekeeping(self) -> None:
        self.verdicts.maybe_refresh()
        for name in self.ejector.due_for_probe():
            self._spawn(self.probe(name))
        if self._distributed and self.clock() - self._last_sync >= self.config.server.shared_sync_s:
            self._last_sync = self.clock()
            if self._sync_task is None or self._sync_task.done():  # one at a time, in a task of its own
                self._sync_task = self._spawn(self.sync())
            if self.link.up:  # fresh state for this request if Redis answers in time; never longer
                await asyncio.wait({self._sync_task}, timeout=self.link.timeout_s)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def sync(self) -> None:
        """Exchange counts and ejections with the other processes; local state only while
        shared state is unavailable (the link keeps the counts and resends them)."""
        self._last_sync = self.clock()
        names = list(self.upstreams)
        pending, self._pending_counts = self._pending_counts, {n: Counter() for n in names}
        got = await self.link.sync(pending, self.clock())
        if self.config.watch.enabled and self.verdicts.watch is not None:  # watch states, both ways
            views = await self.link.watch(self.verdicts.watch.published())
            self.verdicts.watch.merge(decode_views(views or {}))
        if got is None:
            return
        self.cluster_counts, remote = got
        for name in self.ejector.apply_remote(remote):
            self.sticky.drop_endpoint(name)
            self.events.ejected(name, "shared", self.ejector.reason(name) or "", source="other_process")

    async def probe(self, name: str) -> None:
        """Probe an endpoint whose probation ended until it is readmitted or ejected again."""
        up = self.upstreams[name]
        self.events.probing(name)
        while self.ejector.probing(name):
            att = await up.complete(PROBE_BODY, PROBE_BODY["tools"], self.validator)
            self.metrics.probes.labels(name, att.outcome).inc()
            verdict = self.ejector.probe_result(name, att.ok)
            self.events.probe(name, att, verdict)
            if verdict is True:
                self.stats[name].errors.clear()
                self.stats[name].tool_errors.clear()
                self.metrics.readmissions.labels(name).inc()
                await self.link.clear(name)
            elif verdict is False:
                await self._publish(name)

    async def _publish(self, name: str) -> None:
        until, reason = self.ejector.record(name)
        await self.link.publish(name, until, reason, self.clock())

    # observation: every attempt, whatever happened ------------------------------
    async def observe(self, att: Attempt, req: ChatRequest | None) -> None:
        """Telemetry, Retry-After and stickiness for one attempt. A success is evidence for its
        endpoint at once; a failure waits for ``settle`` (or is settled here for probes)."""
        name = att.endpoint
        self.metrics.attempts.labels(name, att.outcome).inc()
        self.events.attempt(att, req)
        stats = self.stats[name]
        stats.timing(att.outcome, att.latency_s, att.ttft_s)
        if att.empty:
            self.metrics.empty_answers.labels(name).inc()
        if att.ok and att.latency_s is not None:
            self.metrics.latency.labels(name).observe(att.latency_s)
        if att.ttft_s is not None:
            self.metrics.ttft.labels(name).observe(att.ttft_s)
        self._pending_counts[name][att.outcome] += 1
        if att.retry_after_s is not None and att.status in (429, 503):
            self.router.cool_down(name, min(att.retry_after_s, self.config.server.max_retry_after_s))
        if att.ok:
            stats.evidence(att.outcome, att.tool_calls)
            if req is not None and req.sticky_key is not None:
                self.sticky.bind(req.sticky_key, name)
            return
        if req is not None and req.sticky_key is not None and self.sticky.get(req.sticky_key) == name:
            # the guard: a quality failure breaks the binding as surely as an error does
            self.sticky.drop(req.sticky_key)
        if req is None:
            await self._evidence(name, att.outcome, att.tool_calls)

    async def settle(self, failed: list[Attempt], req: ChatRequest, served: bool) -> None:
        """The request is over: its failed attempts become evidence as _blame decides."""
        for att in failed:
            if att.outcome == "client_error":
                continue
            if served or att.outcome in ENDPOINT_ONLY:
                await self._evidence(att.endpoint, att.outcome, att.tool_calls)
                continue
            self.metrics.unattributed.labels(att.endpoint, att.outcome).inc()
            for outcome in self.blame.suspect(att.endpoint, req.client, att.outcome):
                await self._evidence(att.endpoint, outcome, 1 if outcome == "tool_call_invalid" else None)

    async def _evidence(self, name: str, outcome: str, tool_calls: int | None) -> None:
        stats = self.stats[name]
        stats.evidence(outcome, tool_calls)
        if outcome in FAILURES or outcome == "tool_call_invalid":
            ejected = self.ejector.evaluate(name, stats)
            if ejected is not None:
                self.metrics.ejections.labels(name, ejected[0]).inc()
                self.events.ejected(name, *ejected)
                self.sticky.drop_endpoint(name)
                self.blame.clear(name)
                await self._publish(name)

    def served_headers(self, up: Upstream, attempts: int) -> dict[str, str]:
        return {
            "x-parity-endpoint": up.name,
            "x-parity-declared": up.declared_header,
            "x-parity-verdict": self.verdicts.header(up.name),
            "x-parity-attempts": str(attempts),
        }

    def vote_ignore(self, names: frozenset[str]) -> None:
        for n in names:
            if n in self.upstreams:  # unknown names are not labels: clients cannot grow the metric set
                self.metrics.ignore_votes.labels(n).inc()
                self._pending_counts[n]["ignore_votes"] += 1

    def sticky_key_for(self, alias: ModelAlias, session: str | None, messages: list[Any], size: int) -> str | None:
        if not alias.sticky:
            return None
        return sticky_key(alias.alias, session, messages, size, self.config.server.sticky_prefix_messages)

    def plan(self, req: ChatRequest) -> Plan:
        bound = self.sticky.get(req.sticky_key) if req.sticky_key is not None else None
        if req.provider is None:
            return self.router.plan(req.alias, req.verified, req.ignore, bound)
        # every admissible endpoint first, then the client's prefs filter, reorder and cut
        wide = req.alias.model_copy(update={"max_attempts": len(req.alias.endpoints)})
        full = self.router.plan(wide, req.verified, req.ignore, bound)
        latency = {n: s.latency_ewma for n, s in self.stats.items()}
        return apply_provider(full, req.provider, req.alias.prices, latency, req.alias.max_attempts)


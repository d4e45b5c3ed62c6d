"""The gateway core: plan, attempt, validate, fall back, observe. No HTTP framework here."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from parity.client import default_transport
from parity.store import Store

from ._blame import ENDPOINT_ONLY, Blame
from ._config import GatewayConfig, ModelAlias
from ._door import ToolsDoor
from ._ejection import Ejector
from ._router import Plan, Router
from ._scrub import Scrubber
from ._shared import MemoryState, SharedState
from ._sticky import StickyTable, sticky_key
from ._telemetry import FAILURES, EndpointStats, Metrics
from ._upstream import Attempt, Upstream
from ._validation import ToolValidator
from ._verdicts import VerdictBook

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

    @property
    def model(self) -> str:
        return self.alias.alias + (":verified" if self.verified else "")


@dataclass(slots=True)
class Served:
    """A successful answer: either whole bytes or a stream, plus headers naming the endpoint."""

    headers: dict[str, str]
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None


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
                             injected.get(e.name) or default_transport(s.max_connections, url=e.base_url),
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
        self.verdicts = VerdictBook(store, names, s.verdict_refresh_s, clock)
        self.sticky = StickyTable(s.sticky_ttl_s, clock)
        self.router = Router(config, self.upstreams, self.stats, self.ejector, self.verdicts, clock,
                             rng or random.Random())
        self.validator = ToolValidator(s.schema_draft)
        self.door = ToolsDoor(self.validator.schemas)
        self.shared: SharedState = shared or MemoryState()
        self._distributed = shared is not None
        self._last_sync = float("-inf")
        self._pending_counts: dict[str, Counter[str]] = {n: Counter() for n in names}
        self.cluster_counts: dict[str, dict[str, int]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for up in self.upstreams.values():
            await up.aclose()
        await self.shared.aclose()

    # housekeeping, at most once per sync period, on the request path -------------
    async def housekeeping(self) -> None:
        self.verdicts.maybe_refresh()
        for name in self.ejector.due_for_probe():
            self._spawn(self.probe(name))
        if self._distributed and self.clock() - self._last_sync >= self.config.server.shared_sync_s:
            await self.sync()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sync(self) -> None:
        """Exchange counts and ejections with the other processes."""
        self._last_sync = self.clock()
        names = list(self.upstreams)
        pending, self._pending_counts = self._pending_counts, {n: Counter() for n in names}
        await self.shared.add_counts(pending)
        self.cluster_counts = await self.shared.counts(names)
        for name in self.ejector.apply_remote(await self.shared.ejections(names)):
            self.sticky.drop_endpoint(name)

    async def probe(self, name: str) -> None:
        """Probe an endpoint whose probation ended until it is readmitted or ejected again."""
        up = self.upstreams[name]
        while self.ejector.probing(name):
            att = await up.complete(PROBE_BODY, PROBE_BODY["tools"], self.validator)
            self.metrics.probes.labels(name, att.outcome).inc()
            verdict = self.ejector.probe_result(name, att.ok)
            if verdict is True:
                self.stats[name].errors.clear()
                self.stats[name].tool_errors.clear()
                self.metrics.readmissions.labels(name).inc()
                await self.shared.clear_ejection(name)
            elif verdict is False:
                await self._publish(name)

    async def _publish(self, name: str) -> None:
        until, reason = self.ejector.record(name)
        await self.shared.publish_ejection(name, until, reason, self.clock())

    # observation: every attempt, whatever happened ------------------------------
    async def observe(self, att: Attempt, req: ChatRequest | None) -> None:
        """Telemetry, Retry-After and stickiness for one attempt. A success is evidence for its
        endpoint at once; a failure waits for ``settle`` (or is settled here for probes)."""
        name = att.endpoint
        self.metrics.attempts.labels(name, att.outcome).inc()
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
        return self.router.plan(req.alias, req.verified, req.ignore, bound)


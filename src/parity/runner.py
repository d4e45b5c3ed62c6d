"""The Runner: endpoints x suites, concurrency, persistence and resume.

A run is identified by a fingerprint of what was asked (configuration without
secrets, suites, datasets, seed, parity version). Running the same command
again finds the newest run with that fingerprint: an unfinished one is
continued (every stored Exchange is reused, only what is missing is
requested); a complete one is reused as it is, nothing sent, so a command
killed after its run completed but before its outputs were written can write
them. ``new_run`` starts afresh instead.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

from parity._version import __version__
from parity.case import Case
from parity.client import ChatClient
from parity.config import EndpointConfig, ParityConfig
from parity.cost import annotate_usage
from parity.exchange import Exchange, ExchangeStatus, Reply
from parity.reachability import DEFAULT_MAX_ERROR_RATE, apply_reachability
from parity.redaction import Secrets
from parity.store import RunRecord, Store
from parity.suites import EvalContext, Role, Suite, planned_requests
from parity.verdict import Verdict


class Progress(Protocol):
    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None: ...

    def advance(self, endpoint: str, exchange: Exchange) -> None: ...


class Journal(Protocol):
    """Records a request before it is sent: ``claim`` is True the first time a key is seen.

    A sender with a journal sends each request at most once: a key claimed by an
    earlier process that died before storing the answer becomes an ``interrupted``
    exchange instead of a second request.
    """

    async def claim(self, key: str) -> bool: ...


class _NoProgress:
    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None:
        pass

    def advance(self, endpoint: str, exchange: Exchange) -> None:
        pass


class EndpointSender:
    """Sends one suite's cases to one endpoint; stored Exchanges are returned, not re-sent."""

    def __init__(
        self,
        *,
        run_id: str,
        suite: str,
        client: ChatClient,
        store: Store,
        stored: dict[tuple[str, int], Exchange],
        progress: Progress,
        reference: Callable[[], Awaitable[list[Exchange]]] | None = None,
        secrets: Secrets | None = None,
        journal: Journal | None = None,
        to_reference: EndpointSender | None = None,
    ) -> None:
        self.endpoint: EndpointConfig = client.endpoint
        self._journal = journal
        self._secrets = client.secrets if secrets is None else secrets
        self._reference = reference
        self.run_id = run_id
        self.suite = suite
        self._client = client
        self._store = store
        self._stored = stored
        self._progress = progress
        self.sent = 0
        self._inflight: dict[tuple[str, int], asyncio.Future[Exchange]] = {}
        self._to_reference = to_reference

    async def send(self, case: Case, repeat: int = 0) -> Exchange:
        key = (case.hash, repeat)
        hit = self._stored.get(key)
        if hit is not None:
            return hit
        # Several candidates may ask the reference for the same request at once: sent once.
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        task = asyncio.ensure_future(self._send(case, repeat, key))
        self._inflight[key] = task
        task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await task

    async def _send(self, case: Case, repeat: int, key: tuple[str, int]) -> Exchange:
        body = self._client.build_body(case.body)
        journal_key = f"{self.run_id}/{self.endpoint.name}/{self.suite}/{case.hash}/{repeat}"
        if self._journal is None or await self._journal.claim(journal_key):
            reply = await self._client.chat(case.body, sent=body)
        else:
            reply = Reply(status=ExchangeStatus.INTERRUPTED, attempts=0,
                          error="sent before a crash, answer lost; not sent again")
        # Masked before anything else sees it: store, progress, suites, reports.
        ex = _exchange(reply, self, case, repeat, body).redacted(self._secrets)
        await self._store.aio.add_exchange(ex)  # group-committed off the loop; durable on return
        self._stored[key] = ex
        self.sent += 1
        self._progress.advance(self.endpoint.name, ex)
        return ex

    async def send_all(self, items: Iterable[tuple[Case, int]]) -> list[Exchange]:
        # The client's semaphore bounds concurrency; tasks are cheap.
        return list(await asyncio.gather(*(self.send(c, r) for c, r in items)))

    async def reference(self) -> list[Exchange]:
        if self._reference is None:
            raise RuntimeError("this sender has no access to the reference's exchanges")
        return await self._reference()

    def stored(self) -> list[Exchange]:
        """Every exchange this sender holds: loaded at start (resume) or sent since."""
        return list(self._stored.values())

    def to_reference(self) -> EndpointSender:
        if self._to_reference is None:
            raise RuntimeError("this sender cannot send to the reference")
        return self._to_reference


def _exchange(reply: Reply, s: EndpointSender, case: Case, repeat: int, body: dict[str, Any]) -> Exchange:
    data = dict(reply.__dict__)
    return Exchange.model_construct(
        **data,
        schema_version=1,
        run_id=s.run_id,
        endpoint=s.endpoint.name,
        suite=s.suite,
        case_id=case.id,
        case_hash=case.hash,
        repeat=repeat,
        request=body,
    )


def public_config(config: ParityConfig, secrets: Secrets) -> dict[str, Any]:
    """The configuration as stored and reported: header values masked, URL passwords too."""
    return secrets.redact_value(config.public_dict())


def fingerprint(config: ParityConfig, suites: list[Suite], secrets: Secrets | None = None) -> str:
    what = {
        "config": public_config(config, secrets or Secrets()),
        "suites": [[s.name, s.dataset_hash()] for s in suites],
        "version": __version__,
    }
    return hashlib.sha256(orjson.dumps(what, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class RunResult:
    run: RunRecord
    verdicts: list[Verdict]
    resumed: bool
    sent: dict[str, int] = field(default_factory=dict)  # endpoint -> requests sent this time


TransportFactory = Callable[[EndpointConfig], httpx.AsyncBaseTransport | None]


class Runner:
    """Runs suites against every endpoint of a configuration, persisting as it goes."""

    def __init__(
        self,
        config: ParityConfig,
        suites: list[Suite],
        store: Store,
        *,
        keys: Mapping[str, str | None] | None = None,
        transport: TransportFactory | None = None,
        progress: Progress | None = None,
        new_run: bool = False,
        max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
        journal: Journal | None = None,
    ) -> None:
        self.journal = journal
        self.config = config
        self.suites = suites
        self.store = store
        self._keys = dict(keys or {})
        self._transport = transport or (lambda _e: None)
        self.progress: Progress = progress or _NoProgress()
        self._new_run = new_run
        # Every configured secret of every endpoint: an endpoint may echo another's.
        self.secrets = Secrets.for_endpoints(config.endpoints, self._keys)
        self.max_error_rate = max_error_rate  # beyond it, an endpoint's verdict is "error"
        self._ref_done: dict[str, asyncio.Future[list[Exchange]]] = {}
        self._ref_senders: dict[str, EndpointSender] = {}

    def start(self) -> tuple[RunRecord, bool]:
        """The run to work on: the newest with the same fingerprint (its ``status`` says whether
        it is complete), or a new one; True when an existing run was found."""
        fp = fingerprint(self.config, self.suites, self.secrets)
        if not self._new_run:
            found = self.store.find_latest(fp)
            if found is not None:
                return found, True
        record = self.store.create_run(
            fingerprint=fp,
            parity_version=__version__,
            seed=self.config.run.seed,
            reference=self.config.reference.name,
            suites=[s.name for s in self.suites],
            datasets={s.name: s.dataset_hash() for s in self.suites},
            config=public_config(self.config, self.secrets),
        )
        return record, False

    async def run(self, run: RunRecord | None = None) -> RunResult:
        resumed = False
        if run is None:
            started: tuple[RunRecord, bool] = await asyncio.to_thread(self.start)
            run, resumed = started
        if run.status == "complete":  # nothing to send: its verdicts as they were saved
            verdicts = self.store.verdicts(run.id) or self.evaluate(run.id)
            return RunResult(run=run, verdicts=verdicts, resumed=True, sent={})
        stored = await self.store.aio.exchanges(run.id)
        sent: dict[str, int] = {}
        # Set when the reference has collected a suite: adaptive candidates read its answers.
        loop = asyncio.get_running_loop()
        self._ref_done = {s.name: loop.create_future() for s in self.suites}
        # One client and one sender per suite for the reference, open until every endpoint is
        # done: a candidate may ask the reference for more answers (drawn on demand, sent once).
        ref = self.config.reference
        ref_client = ChatClient(ref, api_key=self._keys.get(ref.name), transport=self._transport(ref))
        self._ref_senders = {s.name: self._sender(run.id, s.name, ref_client, stored, None)
                             for s in self.suites}
        try:
            await asyncio.gather(*(self._endpoint(run.id, e, stored, sent, ref_client)
                                   for e in self.config.endpoints))
        finally:
            await ref_client.aclose()
        sent[ref.name] = sum(s.sent for s in self._ref_senders.values())
        verdicts = await asyncio.to_thread(self.evaluate, run.id)
        await self.store.aio.finish_run(run.id)
        return RunResult(run=await self.store.aio.get_run(run.id), verdicts=verdicts, resumed=resumed,
                         sent=sent)

    def _sender(self, run_id: str, suite: str, client: ChatClient, stored: list[Exchange],
                to_reference: EndpointSender | None) -> EndpointSender:
        name = client.endpoint.name
        mine = {(x.case_hash, x.repeat): x for x in stored if x.endpoint == name and x.suite == suite}
        return EndpointSender(run_id=run_id, suite=suite, client=client, store=self.store, stored=mine,
                              progress=self.progress,
                              reference=functools.partial(asyncio.shield, self._ref_done[suite]),
                              secrets=self.secrets, journal=self.journal, to_reference=to_reference)

    async def _endpoint(self, run_id: str, endpoint: EndpointConfig, stored: list[Exchange],
                        sent: dict[str, int], ref_client: ChatClient) -> None:
        role = Role.REFERENCE if endpoint.reference else Role.CANDIDATE
        client = ref_client if role is Role.REFERENCE else ChatClient(
            endpoint, api_key=self._keys.get(endpoint.name), transport=self._transport(endpoint))
        try:
            for suite in self.suites:
                ref_sender = self._ref_senders[suite.name]
                sender = ref_sender if role is Role.REFERENCE else self._sender(
                    run_id, suite.name, client, stored, ref_sender)
                self.progress.planned(endpoint.name, suite.name,
                                      planned_requests(suite, role, self.config.run, endpoint),
                                      len(sender.stored()))
                await suite.collect(sender, role, self.config.run)
                if role is Role.REFERENCE:
                    self._ref_done[suite.name].set_result(sender.stored())
                else:
                    sent[endpoint.name] = sent.get(endpoint.name, 0) + sender.sent
        finally:
            if role is not Role.REFERENCE:
                await client.aclose()
            for f in self._ref_done.values():  # the reference failed: waiting candidates fail too
                if role is Role.REFERENCE and not f.done():
                    f.set_exception(RuntimeError("the reference's collection did not finish"))
                    # Retrieved here: when nobody waits (an interrupted run), asyncio would
                    # print "Future exception was never retrieved" at exit.
                    f.exception()

    def evaluate(self, run_id: str) -> list[Verdict]:
        """Pure evaluation over what the store holds for the run; verdicts are saved."""
        verdicts: list[Verdict] = []
        for suite in self.suites:
            by_endpoint: dict[str, list[Exchange]] = {e.name: [] for e in self.config.endpoints}
            for ex in self.store.exchanges(run_id, suite=suite.name):
                by_endpoint.setdefault(ex.endpoint, []).append(ex)
            ctx = EvalContext(reference=self.config.reference.name, endpoints=self.config.endpoints,
                              exchanges=by_endpoint, settings=self.config.run)
            judged = annotate_usage(suite.evaluate(ctx), by_endpoint, self.config.endpoints)
            verdicts.extend(apply_reachability(judged, by_endpoint, reference=ctx.reference,
                                               max_error_rate=self.max_error_rate))
        self.store.save_verdicts(run_id, verdicts)
        return verdicts

"""What the gateway tells its operator: start-up, access log, fallbacks, ejections,
readmissions and probes as log events; tokens and spend as metrics; spans as traces.

One object, ``Gateway.events``, with a method per event; the gateway core calls
them where things happen. The access log and the request span come from an ASGI
middleware (:class:`Observed`) that opens a record per request, which the hooks
fill in (model, endpoint, attempts, tokens) through a context variable.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from contextlib import nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parity._version import __version__
from parity.logs import EventLog

from ._otel import Tracing
from ._usage import TokenMetrics, usage_of

if TYPE_CHECKING:
    from ._gateway import ChatRequest, Gateway
    from ._upstream import Attempt, Upstream

__all__ = ["GatewayEvents", "Observed"]

_RECORD: ContextVar[dict[str, Any] | None] = ContextVar("parity_gateway_request", default=None)


def _host(url: str) -> str:
    parts = urlsplit(url)  # userinfo (a password in the URL) is never logged
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


class GatewayEvents:
    def __init__(self, gw: Gateway) -> None:
        self._gw = gw
        ups = list(gw.upstreams.values())

        def redact_all(text: str) -> str:
            for up in ups:
                text = up.redact(text)
            return text

        # The access log redacts the same few short strings on every request (method, path,
        # model, endpoint, outcome): their masked form is remembered (the secrets are fixed).
        cached = functools.lru_cache(maxsize=1024)(redact_all)

        def redact(text: str) -> str:
            return cached(text) if len(text) <= 128 else redact_all(text)

        self.log = EventLog(redact)
        self.tokens = TokenMetrics(gw.metrics.registry, gw.config.endpoints)
        self.tracing: Tracing | None = None
        self.access_sample = 1.0  # share of successful requests logged; errors always are
        self._rng = random.Random()

    def startup(self, *, store: bool, shared: bool, auth: bool) -> None:
        c = self._gw.config
        self.log.emit(
            "gateway.start", version=__version__, auth="keys" if auth else "none", store=store,
            shared_state="redis" if shared else "memory", tracing=self.tracing is not None,
            access_sample=self.access_sample,
            endpoints=[f"{e.name}={_host(e.base_url)}#{e.model}" for e in c.endpoints],
            models=[f"{m.alias}:{m.policy}:{'+'.join(m.endpoints)}" for m in c.models],
            ejection=f"alpha={c.ejection.alpha:g} window={c.ejection.window} "
                     f"probation_s={c.ejection.probation_s:g} probes={c.ejection.probe_successes}")

    # the request path -----------------------------------------------------------
    def attempt(self, att: Attempt, req: ChatRequest | None) -> None:
        model = req.model if req is not None else "_probe"
        usage = getattr(att, "usage", None)
        reasons: list[str] = list(getattr(att, "finish_reasons", None) or [])
        if usage is None and att.body is not None:
            usage, reasons = usage_of(att.body)
        inp, out = self.tokens.record(att.endpoint, model, usage)
        rec = _RECORD.get()
        if rec is not None and req is not None:
            rec.update(model=model, endpoint=att.endpoint, attempts=rec.get("attempts", 0) + 1,
                       outcome=att.outcome, input_tokens=inp or None, output_tokens=out or None)
            if att.repaired is not None:
                rec["repaired"] = att.repaired  # a leaked call served as tool_calls (streams: header may be gone)
        up = self._gw.upstreams[att.endpoint]
        if self.tracing is not None:
            self.tracing.attempt(att.endpoint, up.cfg.model, att.outcome, att.latency_s, {
                "gen_ai.request.model": up.cfg.model, "parity.model_alias": model,
                "gen_ai.usage.input_tokens": inp if usage else None,
                "gen_ai.usage.output_tokens": out if usage else None,
                "gen_ai.response.finish_reasons": reasons or None,
                "http.response.status_code": att.status, "error.type": None if att.ok else att.outcome})
        self.log.emit("upstream.attempt", logging.DEBUG, endpoint=att.endpoint, model=model, outcome=att.outcome,
                      status=att.status, latency_ms=_ms(att.latency_s), error=att.error or None)

    def fallback(self, req: ChatRequest, failed: Attempt, nxt: Upstream) -> None:
        self.log.emit("fallback", logging.WARNING, model=req.model, endpoint=failed.endpoint,
                      reason=failed.outcome, status=failed.status, error=failed.error or None, to=nxt.name)

    # admission ------------------------------------------------------------------
    def ejected(self, endpoint: str, signal: str, reason: str, source: str = "live_test") -> None:
        self.log.emit("endpoint.ejected", logging.WARNING, endpoint=endpoint, signal=signal, reason=reason,
                      source=source)

    def probing(self, endpoint: str) -> None:
        self.log.emit("endpoint.probing", endpoint=endpoint, reason="probation over; probes decide")

    def probe(self, endpoint: str, att: Attempt, result: bool | None) -> None:
        verdict = {True: "readmitted", False: "ejected_again", None: "continue"}[result]
        self.log.emit("probe", endpoint=endpoint, outcome=att.outcome, result=verdict, error=att.error or None)
        if result is True:
            self.log.emit("endpoint.readmitted", endpoint=endpoint,
                          reason=f"{self._gw.config.ejection.probe_successes} good probes in a row")
        elif result is False:
            self.ejected(endpoint, "probe", self._gw.ejector.reason(endpoint) or att.outcome, source="probe")

    def access(self, rec: dict[str, Any]) -> None:
        status = rec.get("status", 0)
        if status < 400 and self.access_sample < 1.0 and self._rng.random() >= self.access_sample:
            return
        self.log.emit("request", logging.INFO, **rec)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class Observed:
    """ASGI middleware: the access-log record and the request span around every HTTP request."""

    def __init__(self, app: Any, events: GatewayEvents) -> None:
        self.app = app
        self.events = events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rec: dict[str, Any] = {"method": scope["method"], "path": scope["path"]}
        token = _RECORD.set(rec)
        t0 = time.perf_counter()

        async def watch(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                rec["status"] = msg["status"]
            elif msg["type"] == "http.response.body":
                rec["bytes"] = rec.get("bytes", 0) + len(msg.get("body", b""))
            await send(msg)

        tr = self.events.tracing
        try:
            with tr.request(scope["method"], scope["path"]) if tr is not None else nullcontext() as span:
                try:
                    await self.app(scope, receive, watch)
                finally:
                    if tr is not None and span is not None:
                        tr.annotate(span, {"http.response.status_code": rec.get("status"),
                                           "gen_ai.request.model": rec.get("model"),
                                           "parity.endpoint": rec.get("endpoint"),
                                           "gen_ai.usage.input_tokens": rec.get("input_tokens"),
                                           "gen_ai.usage.output_tokens": rec.get("output_tokens")})
        finally:
            _RECORD.reset(token)
            rec["duration_ms"] = round((time.perf_counter() - t0) * 1000, 2)
            self.events.access(rec)

"""One client request: try the planned endpoints in order until one serves it well."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import orjson

from ._errors import GatewayError
from ._gateway import ChatRequest, Gateway, Served
from ._router import EXCLUDED_HEADER, Plan
from ._stream import DONE, StreamAttempt
from ._upstream import Attempt, Upstream
from ._validation import REPAIRED_HEADER

log = logging.getLogger("parity.gateway")


class Relayed(Protocol):
    """A streamed attempt that was committed: the rest of its frames, a batch per upstream
    read, to the client (``_stream.RelayedStream``)."""

    def rest(self, on_end: Callable[[Attempt], Awaitable[None]]) -> AsyncIterator[list[bytes]]: ...

    async def close(self) -> None: ...


# One try on one endpoint: the attempt, and for a stream the object that relays the rest.
# The API (chat, Responses, completions) is this strategy; the loop and its rules are shared.
TryOnce = Callable[[Upstream], Awaitable[tuple[Attempt, Relayed | None]]]


def chat_attempts(gw: Gateway, req: ChatRequest) -> TryOnce:
    """The strategy of ``/v1/chat/completions``."""
    validator = gw.validator if req.alias.validate_tool_calls else None
    if validator is not None and req.alias.repair_tool_calls:
        validator = validator.repairing()

    async def once(up: Upstream) -> tuple[Attempt, Relayed | None]:
        if not req.stream:
            return await up.complete(req.body_for(up), req.tools, validator, req.alias.reject_empty), None
        sa = StreamAttempt(up, orjson.dumps(up.build_body(req.body_for(up))), req.tools, validator,
                           gw.config.server.first_token_timeout_s, gw.config.server.idle_timeout_s,
                           req.alias.reject_empty, up.max_response_bytes)
        return await sa.start(), sa

    return once


async def dispatch(gw: Gateway, req: ChatRequest, attempts: TryOnce | None = None) -> Served:
    """Serve ``req`` or raise a GatewayError that says why not; attempts are all observed.
    ``attempts``: how one endpoint is tried (the API's strategy); chat's by default."""
    await gw.housekeeping()
    gw.vote_ignore(req.ignore)
    plan = gw.plan(req)
    once = attempts if attempts is not None else chat_attempts(gw, req)
    tried: list[Attempt] = []
    sa: Relayed | None = None
    for up in plan.order:
        if tried:
            gw.metrics.fallbacks.labels(req.model, tried[-1].outcome).inc()
            gw.events.fallback(req, tried[-1], up)
        att, sa = await once(up)
        tried.append(att)
        if not (att.ok and sa is not None):
            await gw.observe(att, req)  # a committed stream is observed when it ends, not here
        if att.ok:
            await gw.settle(tried[:-1], req, served=True)  # the request was servable: they failed it
            headers = gw.served_headers(up, len(tried))
            if (excluded := plan.excluded_header()) is not None:  # why the others were left out
                headers[EXCLUDED_HEADER] = excluded
            if att.repaired is not None:
                headers[REPAIRED_HEADER] = att.repaired
            if not req.stream:
                gw.metrics.requests.labels(req.model, "ok").inc()
                return Served(headers, body=gw.scrubber.body(att.body or b""))
            assert sa is not None
            return Served(headers, stream=Relay(gw, sa, req))
        if att.error:
            log.debug("gateway: %s attempt on %s failed: %s", req.model, up.name, att.error)
        if att.outcome == "client_error":
            await gw.settle(tried, req, served=False)
            raise GatewayError(att.status or 400, f"endpoint {up.name} refused the request: {att.public()}",
                               code="upstream_rejected_request")
    await gw.settle(tried, req, served=False)
    raise _exhausted(req, plan, tried, gw.config.server.max_retry_after_s)


def _exhausted(req: ChatRequest, plan: Plan, tried: list[Attempt], cap: float) -> GatewayError:
    reasons = {a.endpoint: a.public() for a in tried}
    reasons.update(plan.excluded)
    listed = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    waits = [a.retry_after_s for a in tried if a.retry_after_s is not None and a.outcome == "rate_limited"]
    if plan.retry_after_s is not None:
        waits.append(plan.retry_after_s)
    # the client is told no longer a wait than the gateway itself keeps (max_retry_after_s)
    headers = {"retry-after": str(max(1, math.ceil(min(*waits, cap))))} if waits else {}
    if tried and all(a.outcome == "tool_call_invalid" for a in tried):
        return GatewayError(502, f"every endpoint tried for {req.model} returned an invalid tool call: {listed}",
                            type="upstream_error", code="invalid_tool_call", detail={"endpoints": reasons})
    what = "no endpoint could serve" if tried else "no admissible endpoint for"
    return GatewayError(503, f"{what} {req.model}: {listed}", type="service_unavailable",
                        code="no_endpoint_available" if not tried else "upstreams_failed",
                        headers=headers, detail={"endpoints": reasons})


class Relay:
    """The committed stream, scrubbed, a chunk per upstream read; every way it can end is
    counted exactly once (also a stream the client left before it was ever read)."""

    def __init__(self, gw: Gateway, sa: Relayed, req: ChatRequest) -> None:
        self.gw, self.sa, self.req = gw, sa, req
        self.ended = self.closed = False

    async def _on_end(self, att: Attempt) -> None:
        self.ended = True
        gw, req = self.gw, self.req
        await gw.observe(att, req)
        if not att.ok:
            await gw.settle([att], req, served=False)
        gw.metrics.requests.labels(req.model, "ok" if att.ok else f"stream_{att.outcome}").inc()

    async def chunks(self) -> AsyncIterator[bytes]:
        scrub = self.gw.scrubber.stream()
        scrubbed = scrub.frame
        try:
            async for batch in self.sa.rest(self._on_end):
                out: list[bytes] = []
                for frame in batch:
                    if frame == DONE or frame.startswith(b"data: {\"error\""):  # (Responses: done in frame())
                        out.extend(scrub.flush())
                    out.append(scrubbed(frame))
                yield b"".join(out)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.sa.close()
        if not self.ended:
            # the client went away mid-stream; the endpoint is not to blame
            self.gw.metrics.requests.labels(self.req.model, "client_disconnect").inc()

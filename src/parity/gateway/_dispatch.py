"""One client request: try the planned endpoints in order until one serves it well."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from ._errors import GatewayError
from ._gateway import ChatRequest, Gateway, Served
from ._router import Plan
from ._stream import StreamAttempt
from ._upstream import Attempt


async def dispatch(gw: Gateway, req: ChatRequest) -> Served:
    """Serve ``req`` or raise a GatewayError that says why not; attempts are all observed."""
    await gw.housekeeping()
    gw.vote_ignore(req.ignore)
    plan = gw.plan(req)
    validator = gw.validator if req.alias.validate_tool_calls else None
    tried: list[Attempt] = []
    sa: StreamAttempt | None = None
    for up in plan.order:
        if tried:
            gw.metrics.fallbacks.labels(req.model, tried[-1].outcome).inc()
            gw.events.fallback(req, tried[-1], up)
        if req.stream:
            sa = StreamAttempt(up, orjson.dumps(up.build_body(req.body_for(up))), req.tools, validator,
                               gw.config.server.first_token_timeout_s, gw.config.server.idle_timeout_s)
            att = await sa.start()
        else:
            att = await up.complete(req.body_for(up), req.tools, validator)
        tried.append(att)
        if not (att.ok and sa is not None):
            await gw.observe(att, req)  # a committed stream is observed when it ends, not here
        if att.ok:
            headers = gw.served_headers(up, len(tried))
            if not req.stream:
                gw.metrics.requests.labels(req.model, "ok").inc()
                return Served(headers, body=att.body)
            assert sa is not None
            return Served(headers, stream=_relay(gw, sa, req))
        if att.outcome == "client_error":
            raise GatewayError(att.status or 400, f"endpoint {up.name} refused the request: {att.error}",
                               code="upstream_rejected_request")
    raise _exhausted(req, plan, tried)


def _exhausted(req: ChatRequest, plan: Plan, tried: list[Attempt]) -> GatewayError:
    reasons = {a.endpoint: f"{a.outcome}: {a.error}" for a in tried}
    reasons.update(plan.excluded)
    listed = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    waits = [a.retry_after_s for a in tried if a.retry_after_s is not None and a.outcome == "rate_limited"]
    if plan.retry_after_s is not None:
        waits.append(plan.retry_after_s)
    headers = {"retry-after": str(max(1, round(min(waits))))} if waits else {}
    if tried and all(a.outcome == "tool_call_invalid" for a in tried):
        return GatewayError(502, f"every endpoint tried for {req.model} returned an invalid tool call: {listed}",
                            type="upstream_error", code="invalid_tool_call", detail={"endpoints": reasons})
    what = "no endpoint could serve" if tried else "no admissible endpoint for"
    return GatewayError(503, f"{what} {req.model}: {listed}", type="service_unavailable",
                        code="no_endpoint_available" if not tried else "upstreams_failed",
                        headers=headers, detail={"endpoints": reasons})


async def _relay(gw: Gateway, sa: StreamAttempt, req: ChatRequest) -> AsyncIterator[bytes]:
    """The committed stream; every way it can end is counted exactly once."""
    ended = False

    async def on_end(att: Attempt) -> None:
        nonlocal ended
        ended = True
        await gw.observe(att, req)
        gw.metrics.requests.labels(req.model, "ok" if att.ok else f"stream_{att.outcome}").inc()

    try:
        async for frame in sa.rest(on_end):
            yield frame
    finally:
        if not ended:
            # the client went away mid-stream; the endpoint is not to blame
            gw.metrics.requests.labels(req.model, "client_disconnect").inc()

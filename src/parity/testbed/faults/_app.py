"""The fault proxy: an ASGI app forwarding to an upstream and faulting some answers.

Unfaulted requests stream through untouched (timings included). A request
chosen for a fault is either rewritten on its way up (request modes) or its
answer is read whole and rewritten (response and stream modes). The proxy
never retries: the client's retry policy is the only one.
"""

from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from parity.families import family
from parity.testbed.faults._config import (
    REQUEST_MODES,
    STREAM_MODES,
    FaultConfig,
    FaultMode,
    choose_fault,
    choose_leak_family,
    request_digest,
)
from parity.testbed.faults._leaks import Leak, load_template
from parity.testbed.faults._request import override_sampling, truncate_context
from parity.testbed.faults._stream import (
    has_argument_deltas,
    parse_sse,
    perturb_deltas,
    reassemble,
    rechunk,
    render_sse,
)
from parity.testbed.faults._switch import Router
from parity.testbed.faults._throttle import throttled
from parity.testbed.faults._toolcalls import apply_response_fault, ensure_tool_call

logger = logging.getLogger("parity.testbed.faults")
FAULT_HEADER = "x-parity-fault"
FAULT_FAMILY_HEADER = "x-parity-fault-family"  # the family a markup or reasoning leak wrote
LEAK_MODES = frozenset({FaultMode.MARKUP_LEAK, FaultMode.REASONING_LEAK})
_DROP_REQUEST = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}
)  # identity bodies, so that faulted ones parse
_DROP_RESPONSE = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _UpstreamError(Exception):
    """The upstream could not be reached or failed mid-answer: the client gets a 502."""


async def _bad_gateway(request: Request, exc: Exception) -> Response:
    error = {"message": str(exc), "type": "upstream_error"}
    return JSONResponse({"error": error}, status_code=502)


class _Proxy:
    def __init__(self, config: FaultConfig, client: httpx.AsyncClient, router: Router | None = None) -> None:
        self.config = config
        self.client = client
        self.router = router or Router(config.upstream, config.switch, config.misroute)
        self.leaks: dict[str, Leak] = {}
        for name in config.leak_families:
            fam = family(name)
            assert fam is not None  # the config validated its names
            self.leaks[name] = Leak(fam, load_template(fam, config.templates_dir))
            if self.leaks[name].template is None and name != "qwen3" and FaultMode.MARKUP_LEAK in {
                    f.mode for f in config.faults}:
                raise ValueError(f"markup_leak: no template of family {name!r} in {config.templates_dir}")

    def _upstream_request(self, request: Request, content: bytes, upstream: str) -> httpx.Request:
        url = upstream + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}
        return self.client.build_request(request.method, url, content=content, headers=headers)

    def _headers(
        self, response: httpx.Response, fault: FaultMode | None, leak: Leak | None = None
    ) -> dict[str, str]:
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _DROP_RESPONSE}
        if fault is not None:
            logger.info("injected fault %s", fault.value)
            if self.config.annotate:
                headers[FAULT_HEADER] = fault.value
                if leak is not None and fault in LEAK_MODES:
                    headers[FAULT_FAMILY_HEADER] = leak.family.name
        return headers

    async def _send(self, request: Request, content: bytes, stream: bool,
                    upstream: str | None = None) -> httpx.Response:
        upstream = upstream or self.config.upstream
        try:
            return await self.client.send(self._upstream_request(request, content, upstream), stream=stream)
        except httpx.HTTPError as exc:
            raise _UpstreamError(f"upstream {upstream}: {type(exc).__name__}") from exc

    async def forward(self, request: Request, content: bytes, fault: FaultMode | None,
                      to: str | None = None) -> Response:
        """Stream the upstream's answer back as it arrives."""
        upstream = await self._send(request, content, stream=True, upstream=to)
        raw = upstream.aiter_raw()
        if self.config.throttle is not None:
            sse = upstream.headers.get("content-type", "").startswith("text/event-stream")
            raw = throttled(raw, self.config.throttle, sse)
        return StreamingResponse(
            raw,
            status_code=upstream.status_code,
            headers=self._headers(upstream, fault),
            background=BackgroundTask(upstream.aclose),
        )

    async def passthrough(self, request: Request) -> Response:
        return await self.forward(request, await request.body(), None)

    async def health(self, request: Request) -> Response:
        faults = [f.model_dump(mode="json") for f in self.config.faults]
        return JSONResponse({"status": "ok", "upstream": self.config.upstream, "faults": faults,
                             **self.router.describe()})

    async def admin(self, request: Request) -> Response:
        """``GET /admin/state``; ``POST /admin/{switch,misroute}`` with ``{"state": "on"|"off"|"auto"}``:
        flip a switch now, undo it, or hand it back to its schedule. From 127.0.0.1 only."""
        host = request.client.host if request.client is not None else ""
        if host not in _LOOPBACK:
            return JSONResponse({"error": {"message": "the admin API answers 127.0.0.1 only"}}, 403)
        which = request.path_params["what"]
        if request.method == "GET" and which == "state":
            return JSONResponse(self.router.describe())
        if request.method != "POST" or which not in ("switch", "misroute"):
            return JSONResponse({"error": {"message": "GET /admin/state, POST /admin/switch or /admin/misroute"}},
                                404)
        body = _json_object(await request.body()) or {}
        how = body.get("state")
        if how not in ("on", "off", "auto"):
            return JSONResponse({"error": {"message": 'the body must be {"state": "on" | "off" | "auto"}'}}, 400)
        try:
            self.router.force(which, how)
        except ValueError as exc:
            return JSONResponse({"error": {"message": str(exc)}}, 409)
        logger.info("admin: %s forced %s", which, how)
        return JSONResponse(self.router.describe())

    async def chat(self, request: Request) -> Response:
        raw = await request.body()
        body = _json_object(raw)
        if body is None:
            return await self.forward(request, raw, None)  # the upstream words the error
        digest = request_digest(body, self.config.seed)
        route = self.router.route(digest)
        if route.label is not None:
            logger.info("routed by %s", route.label)
        if route.override_sampling and override_sampling(body, self.config.server_sampling):
            raw = json.dumps(body).encode()
        to = route.upstream
        mode = choose_fault(self.config, digest)
        rng = random.Random(digest)
        streamed = bool(body.get("stream"))
        if mode in REQUEST_MODES:
            sent = copy.deepcopy(body)
            applied = self._fault_request(mode, sent)
            return await self.forward(request, json.dumps(sent).encode(), mode if applied else None, to)
        if mode is None or (mode in STREAM_MODES and not streamed):
            return await self.forward(request, raw, None, to)
        upstream = await self._send(request, raw, stream=False, upstream=to)
        if upstream.status_code != 200:
            return Response(upstream.content, upstream.status_code, self._headers(upstream, None))
        leak = self.leaks[choose_leak_family(self.config, digest)]
        if streamed:
            return self._fault_stream(upstream, body, mode, rng, leak)
        return self._fault_json(upstream, body, mode, rng, leak)

    def _fault_request(self, mode: FaultMode, body: dict[str, Any]) -> bool:
        if mode is FaultMode.SAMPLING_OVERRIDE:
            return override_sampling(body, self.config.server_sampling)
        return truncate_context(body, self.config.context_budget_chars)

    def _fault_json(
        self, upstream: httpx.Response, body: dict[str, Any], mode: FaultMode, rng: random.Random,
        leak: Leak,
    ) -> Response:
        data = _json_object(upstream.content)
        applied = data is not None and apply_response_fault(mode, body, data, rng, leak)
        if data is None or not applied:
            return Response(upstream.content, 200, self._headers(upstream, None))
        return Response(
            json.dumps(data, ensure_ascii=False),
            200,
            self._headers(upstream, mode, leak),
            media_type="application/json",
        )

    def _fault_stream(
        self, upstream: httpx.Response, body: dict[str, Any], mode: FaultMode, rng: random.Random,
        leak: Leak,
    ) -> Response:
        chunks = parse_sse(upstream.text)
        if not chunks:
            return Response(upstream.content, 200, self._headers(upstream, None))
        applied = False
        if mode in STREAM_MODES:
            if not has_argument_deltas(chunks):
                completion = reassemble(chunks)
                if ensure_tool_call(body, completion, rng):
                    chunks = rechunk(completion)
            applied = perturb_deltas(chunks, mode is FaultMode.STREAM_DUPLICATE_DELTA, rng)
        else:
            completion = reassemble(chunks)
            applied = apply_response_fault(mode, body, completion, rng, leak)
            if applied:
                chunks = rechunk(completion)
        if not applied:
            return Response(upstream.content, 200, self._headers(upstream, None))
        return Response(
            render_sse(chunks), 200, self._headers(upstream, mode, leak), media_type="text/event-stream"
        )


def create_app(config: FaultConfig, client: httpx.AsyncClient | None = None) -> Starlette:
    """The proxy as an ASGI app. A ``client`` passed in (e.g. over a test transport)
    stays the caller's to close; otherwise the app makes one and closes it on shutdown."""
    owned = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(config.timeout_s, connect=10.0))
    proxy = _Proxy(config, http)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            await http.aclose()

    routes = [
        Route("/health", proxy.health, methods=["GET"]),
        Route("/admin/{what}", proxy.admin, methods=["GET", "POST"]),
        Route("/v1/chat/completions", proxy.chat, methods=["POST"]),
        Route("/chat/completions", proxy.chat, methods=["POST"]),
        Route("/{path:path}", proxy.passthrough, methods=_METHODS),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={_UpstreamError: _bad_gateway}
    )

"""The ASGI app: routes declared in one place, built by a factory from explicit config."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import httpx
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from parity.store import Store

from ._auth import KeyChecker, hash_key
from ._config import GatewayConfig
from ._dispatch import TryOnce, dispatch
from ._door import check_depth
from ._errors import GatewayError, bad_request
from ._events import Observed
from ._gateway import ChatRequest, Gateway, Served, Streamed
from ._provider import parse_provider
from ._responses import OtherApis
from ._shared import RedisState, SharedState

log = logging.getLogger("parity.gateway")
T = TypeVar("T")
VERIFIED = ":verified"


def create_app(
    config: GatewayConfig, *, store: Store | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None, redis: Any = None,
    environ: Mapping[str, str] | None = None, clock: Callable[[], float] | None = None,
) -> Starlette:
    """The gateway app. ``transports``: endpoint name -> httpx transport (tests);
    ``redis``: a ``redis.asyncio.Redis`` to share state with other processes."""
    shared: SharedState | None = RedisState(redis, config.server.redis_prefix) if redis is not None else None
    gw = Gateway(config, store=store, transports=transports, shared=shared, environ=environ,
                 clock=clock or time.time)
    h = _Handlers(gw)
    apis = OtherApis(gw)  # /v1/responses, /v1/completions, /v1/models/{id}
    if not h.keys.enabled:
        log.warning("parity gateway: no api_key_hashes configured; any client is accepted")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gw.events.startup(store=store is not None, shared=shared is not None, auth=h.keys.enabled)
        yield
        await gw.aclose()

    routes = [
        Route("/v1/chat/completions", h.chat, methods=["POST"]),
        Route("/v1/models", h.models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", h.model(apis), methods=["GET"]),
        Route("/v1/responses", h.api(apis, "responses"), methods=["POST"]),
        Route("/v1/completions", h.api(apis, "completions"), methods=["POST"]),
        Route("/healthz", h.healthz, methods=["GET"]),
        Route("/metrics", h.metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Observed, events=gw.events)],
                    exception_handlers={404: h.http_error, 405: h.http_error})
    app.router.redirect_slashes = False  # a redirect would be built from the client's Host header
    app.state.gateway = gw
    return app


class _Handlers:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.keys = KeyChecker(gw.config.server.api_key_hashes)

    async def chat(self, request: Request) -> Response:
        return await self.serve(request, lambda r: _parse(self.gw, r), None)

    def api(self, apis: OtherApis, api: str) -> Callable[[Request], Awaitable[Response]]:
        """The handler of ``/v1/responses`` or ``/v1/completions``: chat's, with the API's parser
        and attempt strategy (same door, dispatch loop, attribution, scrubbing, hang-up rule)."""
        async def handle(request: Request) -> Response:
            return await self.serve(request, lambda r: apis.parse(r, api), lambda req: apis.attempts(req, api))
        return handle

    async def serve(self, request: Request, parse: Callable[[Request], Awaitable[ChatRequest]],
                    strategy: Callable[[ChatRequest], TryOnce] | None) -> Response:
        gw = self.gw
        try:
            if not self.keys.allows(request.headers.get("authorization")):
                raise GatewayError(401, "invalid or missing API key", code="invalid_api_key")
            req = await parse(request)
        except GatewayError as err:
            gw.metrics.requests.labels("-", err.code or err.type).inc()
            return self._error(err)
        except ClientDisconnect:  # gone during the upload: nobody to answer, nothing to log
            gw.metrics.requests.labels("-", "client_disconnect").inc()
            return Response(status_code=499)
        hangup = HangUp(request)
        served: Served | None = None
        try:
            served = await hangup.unless_gone(dispatch(gw, req, strategy(req) if strategy else None))
        except ClientGone:
            # cancelled with the attempt in flight: not counted against any endpoint
            gw.metrics.requests.labels(req.model, "client_disconnect").inc()
            return Response(status_code=499)
        except GatewayError as err:
            gw.metrics.requests.labels(req.model, err.code or err.type).inc()
            return self._error(err)
        except Exception:
            log.exception("gateway: unexpected error")
            gw.metrics.requests.labels(req.model, "internal_error").inc()
            return GatewayError(500, "internal gateway error", type="server_error").response()
        finally:
            if served is None or served.stream is None:
                hangup.stop()  # a stream's EventStream stops it when the stream ends
        headers = gw.scrubber.headers(served.headers)
        if served.stream is not None:
            return EventStream(served.stream, {**headers, "cache-control": "no-cache"}, hangup)
        return Response(served.body, 200, headers, "application/json")

    def _error(self, err: GatewayError) -> Response:
        """Every error body leaves through the scrubber: upstream text may quote a secret."""
        scrub = self.gw.scrubber
        return Response(scrub.body(orjson.dumps(err.body())), err.status, scrub.headers(err.headers),
                        "application/json")

    def _locked(self, request: Request) -> Response | None:
        """401 for a route that needs a key (all of /v1/*; /healthz and /metrics unless open_paths)."""
        if request.url.path in self.gw.config.server.open_paths or self.keys.allows(
                request.headers.get("authorization")):
            return None
        return self._error(GatewayError(401, "invalid or missing API key", code="invalid_api_key"))

    async def models(self, request: Request) -> Response:
        if (locked := self._locked(request)) is not None:
            return locked
        data = [{"id": m.alias + suffix, "object": "model", "owned_by": "parity"}
                for m in self.gw.config.models for suffix in ("", VERIFIED)]
        return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")

    def model(self, apis: OtherApis) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:  # a /v1/* route: keyed like the others
            return locked if (locked := self._locked(request)) is not None else await apis.model(request)
        return handle

    async def healthz(self, request: Request) -> Response:
        if (locked := self._locked(request)) is not None:
            return locked
        admitted = self.gw.ejector.admitted()
        body = {"status": "ok", "endpoints": {n: "admitted" if ok else "ejected" for n, ok in admitted.items()}}
        return Response(orjson.dumps(body), media_type="application/json")

    async def metrics(self, request: Request) -> Response:
        if (locked := self._locked(request)) is not None:
            return locked
        return Response(generate_latest(self.gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        what = "no such route" if status == 404 else "method not allowed"
        return GatewayError(status, f"{request.method} {request.url.path}: {what}",
                            code="not_found" if status == 404 else "method_not_allowed").response()


class ClientGone(Exception):
    """The client hung up while its request was being served."""


class HangUp:
    """One watcher task per request that cancels the request's task if its client disconnects:
    an upstream attempt for nobody would run to its timeout and then be counted against its
    endpoint, a stream for nobody would read its upstream to the end. It watches dispatch
    (``unless_gone``) and, for a stream, goes on watching while ``EventStream`` relays it."""

    __slots__ = ("_task", "_watcher", "gone")

    def __init__(self, request: Request) -> None:
        loop = asyncio.get_running_loop()  # once: on 3.11 each lookup is a getpid() system call
        task = asyncio.current_task(loop)
        assert task is not None
        self._task = task
        self.gone = False
        self._watcher = loop.create_task(self._watch(request))

    async def _watch(self, request: Request) -> None:
        await _disconnected(request)
        self.gone = True
        self._task.cancel()

    def stop(self) -> None:
        self._watcher.cancel()

    def absorb(self) -> bool:
        """In an ``except CancelledError``: True (and the cancellation undone) if it was ours."""
        if not self.gone:
            return False
        self._task.uncancel()
        return True

    async def unless_gone(self, work: Coroutine[Any, Any, T]) -> T:
        """``work``, in this task; ClientGone if the client disconnects first."""
        try:
            return await work
        except asyncio.CancelledError:
            if not self.absorb():
                raise
            raise ClientGone from None


class EventStream(Response):
    """A ``text/event-stream`` answer: the relay's chunks as they come, in the request's own
    task (Starlette's StreamingResponse adds a task group and a second watcher per stream);
    ``hangup`` cancels it when the client disconnects, and the relay is ended either way."""

    media_type = "text/event-stream"

    def __init__(self, stream: Streamed, headers: Mapping[str, str], hangup: HangUp) -> None:
        self.stream, self.hangup, self.status_code = stream, hangup, 200
        self.background = None
        self.init_headers({**headers, "content-type": "text/event-stream; charset=utf-8"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.stream.chunks():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not self.hangup.absorb():
                raise
        finally:
            self.hangup.stop()
            await self.stream.aclose()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise GatewayError(413, f"request body over {limit} bytes", code="request_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a lying or absent content-length is cut off here, not after buffering it all
            raise GatewayError(413, f"request body over {limit} bytes", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(gw: Gateway, request: Request) -> tuple[bytes, dict[str, Any], str]:
    """The door every API shares: a bounded body that is a JSON object naming a model."""
    raw = await _read_limited(request, gw.config.server.max_request_bytes)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required and must be a string", param="model")
    return raw, body, model


async def _parse(gw: Gateway, request: Request) -> ChatRequest:
    """Only what routing needs is checked; the rest of the body goes upstream untouched."""
    raw, body, model = await read_body(gw, request)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise bad_request("'messages' must be a non-empty array of objects", param="messages")
    check_depth(body, raw)
    tools = gw.door.check(body.get("tools"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be a boolean", param="stream")
    verified = model.endswith(VERIFIED)
    alias = gw.config.alias(model[: -len(VERIFIED)] if verified else model)
    if alias is None:
        raise GatewayError(404, f"the model {model!r} does not exist on this gateway", param="model",
                           code="model_not_found")
    provider = parse_provider(body.pop("provider")) if "provider" in body else None
    h = request.headers
    ignore = frozenset(x.strip() for x in h.get("x-parity-ignore", "").split(",") if x.strip())
    session = h.get("x-parity-session") or h.get("x-session-id")
    return ChatRequest(body, alias, verified, stream, tools, ignore,
                       gw.sticky_key_for(alias, session, messages, len(raw)),
                       client_id(request, keyed=bool(gw.config.server.api_key_hashes)), provider)


def client_id(request: Request, keyed: bool) -> str:
    """Who is asking, for attribution (_blame): the gateway key when keys are checked (an
    unchecked header is the client's to vary at will), else the address."""
    auth = request.headers.get("authorization")
    if keyed and auth:
        return hash_key(auth)[7:23]
    return request.client.host if request.client is not None else "-"

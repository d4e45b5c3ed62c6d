"""The OpenAI-compatible chat client: every outcome becomes a Reply, never an exception.

The ``httpx.AsyncClient`` (and so its transport) is the one seam: tests and
the fake endpoint plug in there. Retries happen here and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from parity.config import ConfigError, EndpointConfig
from parity.exchange import ExchangeStatus, Reply
from parity.redaction import Secrets

from ._limits import RateLimiter
from ._parse import InvalidBody, parse_completion
from ._retry import RetryPolicy, parse_retry_after
from ._sse import StreamAssembler, StreamError, iter_sse_data
from ._stream import OpenStream
from ._tls import tls_context
from ._transport import FastTransport, StaleConnection, default_transport

Sleep = Callable[[float], Awaitable[None]]
EXCERPT = 300
_UNBOUNDED = contextlib.nullcontext()


class _Failure(Exception):
    """One attempt's failure, carrying the Reply it would become if not retried."""

    def __init__(self, reply: Reply, retryable: bool, stale: bool = False) -> None:
        super().__init__(reply.error)
        self.reply = reply
        self.retryable = retryable
        self.stale = stale  # never reached the server: a kept-alive connection it had closed


class ChatClient:
    """Sends chat-completions requests to one endpoint.

    Concurrency and rate are limited per client (one client per endpoint).
    The API key is passed in by the caller, who read it from the environment;
    it goes into the Authorization header and nowhere else.
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        api_key: str | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.perf_counter,
        max_response_bytes: int | None = None,
        bound_attempts: bool = True,
    ) -> None:
        """``bound_attempts=False``: the caller bounds each whole ``chat()`` call by
        ``endpoint.timeout_s`` itself (the gateway does), so an attempt's own deadline of the same
        length, armed later, can never pass first and is left out."""
        self.endpoint = endpoint
        self.secrets = Secrets.for_endpoints([endpoint], {endpoint.name: api_key})
        self._max_bytes = max_response_bytes
        headers = {"content-type": "application/json", **endpoint.headers}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        # Requests go straight to the transport (the seam) unless the caller shares an
        # AsyncClient: the client layer (cookies, redirects, auth hooks) costs more
        # than everything else parity does per exchange, and none of it is wanted here.
        self._http = http
        self._transport: httpx.AsyncBaseTransport | None = None
        if http is None:
            self._transport = transport or default_transport(
                endpoint.max_concurrency, url=endpoint.base_url, tls=endpoint_tls(endpoint))
        self._lean = isinstance(self._transport, FastTransport)
        connect = min(10.0, endpoint.timeout_s)
        self._timeout = {"connect": connect, "read": endpoint.timeout_s, "write": endpoint.timeout_s,
                         "pool": endpoint.timeout_s}
        # Inside an attempt, bounded as a whole by timeout_s (``_attempt``), a per-read or
        # per-write bound of the same timeout_s never passes first (each read starts after the
        # attempt did): left out, it costs no timer per read.
        self._in_attempt: dict[str, float | None] = {**self._timeout, "read": None, "write": None}
        self._bound_attempts = bound_attempts
        # Parsed once: building a request from a str URL and a dict costs 3x more.
        self._headers = httpx.Headers(headers)
        self._url = httpx.URL(f"{endpoint.base_url}/chat/completions")
        self._urls: dict[str, httpx.URL] = {"chat/completions": self._url}
        self._retry = retry or RetryPolicy(max_attempts=endpoint.max_attempts)
        self._sem = asyncio.Semaphore(endpoint.max_concurrency)
        self._rate = RateLimiter(endpoint.requests_per_second) if endpoint.requests_per_second else None
        self._sleep = sleep
        self._clock = clock

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()

    async def _open(self, content: bytes, url: httpx.URL | None = None,
                    timeouts: dict[str, float | None] | None = None) -> httpx.Response:
        """Send the request; the response is streaming and must be closed."""
        if self._lean and content:
            # FastTransport writes Host (first) and Content-Length (last) itself, the bytes that
            # httpx's automatic headers give: a request from a stream skips building them.
            request = httpx.Request("POST", url or self._url, headers=self._headers, stream=httpx.ByteStream(content),
                                    extensions={"timeout": timeouts or self._timeout})
        else:
            request = httpx.Request("POST", url or self._url, headers=self._headers, content=content,
                                    extensions={"timeout": timeouts or self._timeout})
        if self._transport is None:
            assert self._http is not None
            return await self._http.send(request, stream=True)
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def stream(self, content: bytes, *, path: str = "chat/completions", connect_timeout_s: float | None = None,
                     read_timeout_s: float | None = None) -> OpenStream:
        """POST ``content`` (a body as sent: see :meth:`build_body`) to ``base_url/path`` and
        return the answer open, to be read as it arrives (:meth:`OpenStream.read`, each read
        with its own deadline) and closed by the caller. It waits first for one of the
        endpoint's ``max_concurrency`` slots and for ``requests_per_second``, and holds the slot
        until closed: the gateway's streams obey an endpoint's limits as the verifier's do.
        One attempt, no retry (the caller's fallback or policy decides); failures to connect
        or send raise httpx's errors. ``read_timeout_s``: a bound the transport puts on every
        read (None: only the caller's per-read deadlines)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(f"{self.endpoint.base_url}/{path}")
        connect = self._timeout["connect"] if connect_timeout_s is None else connect_timeout_s
        timeout = {"connect": connect, "read": read_timeout_s, "write": read_timeout_s, "pool": None}
        await self._sem.acquire()
        try:
            if self._rate is not None:
                await self._rate.acquire()
            response = await self._open(content, url, timeout)
        except BaseException:
            self._sem.release()
            raise
        return OpenStream(response, self._sem.release)

    def build_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body as sent: the case's, with this endpoint's model and extra_body."""
        return {**body, "model": self.endpoint.model, **self.endpoint.extra_body}

    async def chat(self, body: Mapping[str, Any], *, sent: dict[str, Any] | None = None) -> Reply:
        """Send one request (streamed if ``body['stream']``); retry per the policy."""
        payload = sent if sent is not None else self.build_body(body)
        content = orjson.dumps(payload)
        started = datetime.now(UTC)
        t0 = self._clock()
        attempt = stale = 0
        last_retry_after: float | None = None
        async with self._sem:
            while True:
                attempt += 1
                if self._rate is not None:
                    await self._rate.acquire()
                try:
                    reply = await self._attempt(content, bool(payload.get("stream")), t0)
                    break
                except _Failure as failure:
                    reply = failure.reply
                    last_retry_after = reply.retry_after_s or last_retry_after
                    if failure.stale and stale < self._retry.stale_resends:
                        stale += 1  # at once, on a fresh connection; not one of max_attempts
                        continue
                    if not failure.retryable or attempt - stale >= self._retry.max_attempts:
                        break
                    await self._sleep(self._retry.delay(attempt - stale, reply.retry_after_s))
        reply.attempts = attempt
        reply.started_at = started
        reply.latency_s = self._clock() - t0
        reply.retry_after_s = reply.retry_after_s or last_retry_after
        if reply.error:
            reply.error = self.redact(reply.error)
        if reply.raw_excerpt:
            reply.raw_excerpt = self.redact(reply.raw_excerpt)
        return reply

    def redact(self, text: str) -> str:
        """``text`` with this endpoint's secrets masked (key, header values, URL password);
        a tail that starts a secret is masked too, as error texts are cut excerpts."""
        return self.secrets.redact(text, excerpt=True)

    async def _attempt(self, content: bytes, stream: bool, t0: float) -> Reply:
        try:
            # httpx's timeouts bound each read; this bounds the whole attempt, so a
            # server that drips a stream forever still ends as a timeout.
            async with asyncio.timeout(self.endpoint.timeout_s) if self._bound_attempts else _UNBOUNDED:
                if stream:
                    return await self._streamed(content, t0)
                response = await self._open(content, timeouts=self._in_attempt)
                try:
                    body = await read_capped(response, self._max_bytes)
                finally:
                    await response.aclose()
                if self._max_bytes is not None and len(body) > self._max_bytes:
                    raise _Failure(Reply(status=ExchangeStatus.INVALID_BODY, http_status=response.status_code,
                                         error=f"answer larger than {self._max_bytes} bytes"), retryable=False)
                self._raise_for_status(response.status_code, response.headers, body)
                return self._parse(response.status_code, body)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise _Failure(
                Reply(status=ExchangeStatus.TIMEOUT, error=f"{type(exc).__name__}: timed out"),
                retryable=self._retry.retry_timeouts,
            ) from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            kind = ExchangeStatus.CONNECT_ERROR
            raise _Failure(
                Reply(status=kind, error=f"{type(exc).__name__}: {exc}"[:300]), retryable=True,
                stale=isinstance(exc, StaleConnection),
            ) from None

    def _raise_for_status(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        if 200 <= status < 300:
            return
        retry_after = parse_retry_after(headers.get("retry-after"))
        reply = Reply(
            status=ExchangeStatus.HTTP_ERROR,
            http_status=status,
            error=f"HTTP {status}: {_error_message(body)}",
            raw_excerpt=body[:EXCERPT].decode("utf-8", "replace"),
            retry_after_s=retry_after,
        )
        raise _Failure(reply, retryable=self._retry.retryable_status(status))

    def _parse(self, status: int, body: bytes) -> Reply:
        try:
            data = orjson.loads(body)
            completion = parse_completion(data)
        except (orjson.JSONDecodeError, InvalidBody) as exc:
            return Reply(
                status=ExchangeStatus.INVALID_BODY,
                http_status=status,
                error=f"invalid body: {exc}"[:300],
                raw_excerpt=body[:EXCERPT].decode("utf-8", "replace"),
            )
        return Reply(status=ExchangeStatus.OK, http_status=status, response=data, completion=completion)

    async def _streamed(self, content: bytes, t0: float) -> Reply:
        asm = StreamAssembler()
        buffer = bytearray()
        ttft: float | None = None
        # The slot is this call's (chat holds it); the attempt's own deadline bounds the reads.
        r = OpenStream(await self._open(content, timeouts=self._in_attempt))
        try:
            if not 200 <= r.status_code < 300:
                body = await r.read_capped(self._max_bytes)
                self._raise_for_status(r.status_code, r.headers, body)
            ctype = r.headers.get("content-type", "")
            if "text/event-stream" not in ctype:
                # Some servers ignore stream=true and answer with one JSON body.
                body = await r.read_capped(self._max_bytes)
                reply = self._parse(r.status_code, body)
                reply.streamed = True
                reply.stream_anomalies.append(f"stream requested, got content-type {ctype!r}")
                return reply
            try:
                while not asm.done and (raw := await r.read()):
                    for payload in iter_sse_data(buffer, raw):
                        if asm.feed(payload) and ttft is None:
                            ttft = self._clock() - t0
                        if asm.done:
                            break
            except StreamError as exc:
                return self._stream_failure(r.status_code, asm, str(exc), ttft)
        finally:
            await r.aclose()
        if not asm.done:
            return self._stream_failure(r.status_code, asm, "stream ended before [DONE]", ttft)
        body_dict = asm.result()
        try:
            completion = parse_completion(body_dict)
        except InvalidBody as exc:
            return self._stream_failure(r.status_code, asm, f"reassembled body invalid: {exc}", ttft)
        return Reply(
            status=ExchangeStatus.OK,
            http_status=r.status_code,
            response=body_dict,
            completion=completion,
            streamed=True,
            stream_anomalies=asm.anomalies,
            ttft_s=ttft,
        )

    def _stream_failure(
        self, status: int, asm: StreamAssembler, error: str, ttft: float | None
    ) -> Reply:
        return Reply(
            status=ExchangeStatus.STREAM_ERROR,
            http_status=status,
            response=asm.result(),
            error=error[:300],
            streamed=True,
            stream_anomalies=asm.anomalies,
            ttft_s=ttft,
        )


async def read_capped(response: httpx.Response, limit: int | None) -> bytes:
    """The body, but never more than ``limit`` + 1 bytes of it: a longer one is cut there
    (so the caller can tell) instead of being buffered whole."""
    if limit is None:
        return await response.aread()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[: limit + 1]


def endpoint_tls(endpoint: EndpointConfig) -> ssl.SSLContext:
    """The endpoint's TLS set-up (``verify``, ``ca_bundle``); a bad bundle is a ConfigError."""
    try:
        return tls_context(verify=endpoint.verify, ca_bundle=endpoint.ca_bundle)
    except ValueError as exc:
        raise ConfigError(f"endpoint {endpoint.name!r}: {exc}") from None


def _error_message(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body[:120].decode("utf-8", "replace").strip().replace("\n", " ")
        return text or "(empty body)"
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message", ""))[:200]
    return str(data)[:200]

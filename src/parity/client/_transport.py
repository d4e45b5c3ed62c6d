"""A lean HTTP/1.1 transport: asyncio streams, httptools, a keep-alive pool per origin.

httpx's own stack (httpcore, h11, anyio) costs the gateway more CPU per request
than all of its routing; this does only what parity needs. Not supported:
proxies, HTTP/2, upgrades, ``Expect: 100-continue``, request bodies sent
chunked (a streamed body is read whole and sent with a Content-Length).
``default_transport`` hands proxied set-ups to ``httpx.AsyncHTTPTransport``.

It never sends a request twice: a kept-alive connection found closed by the
server before any byte of the answer raises :class:`StaleConnection`, and the
client's one retry policy decides (``RetryPolicy.stale_resends``), counting it
as an attempt. TLS on both paths verifies against the same trust store:
certifi's, or an endpoint's own ``ca_bundle`` (:func:`tls_context`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httptools
import httpx

from ._tls import tls_context

T = TypeVar("T")
READ_SIZE = 64 * 1024
Origin = tuple[str, str, int]
_FRAMING = (b"content-length", b"transfer-encoding")
_PROXY_SCHEMES = ("http", "https", "all")


class StaleConnection(httpx.TransportError):
    """A kept-alive connection turned out closed before any byte of the answer came back.

    The server most likely closed it while idle and never saw the request, so sending it
    again on a fresh connection is safe; that is the retry policy's decision, not ours.
    """


def default_transport(max_connections: int, *, url: str | None = None,
                      tls: ssl.SSLContext | None = None) -> httpx.AsyncBaseTransport:
    """``FastTransport``, unless HTTP(S)_PROXY/ALL_PROXY (any case, NO_PROXY honoured) name a
    proxy for ``url``: then httpx's own transport through that proxy. Without ``url`` any
    proxy setting gives httpx's transport, but unproxied: pass ``url`` to go through it.
    Both verify TLS with ``tls`` (default: :func:`tls_context`)."""
    tls = tls or tls_context()
    proxies = {k: v for k, v in urllib.request.getproxies_environment().items() if k in _PROXY_SCHEMES}
    if not proxies:
        return FastTransport(max_connections, ssl_context=tls)
    proxy: str | None = None
    if url is not None:
        target = httpx.URL(url)
        if urllib.request.proxy_bypass(target.host):
            return FastTransport(max_connections, ssl_context=tls)
        proxy = proxies.get(target.scheme) or proxies.get("all")
        if proxy is None:
            return FastTransport(max_connections, ssl_context=tls)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncHTTPTransport(limits=limits, proxy=proxy, verify=tls)


async def _within(aw: Awaitable[T], seconds: float | None) -> T:
    if seconds is None:
        return await aw
    async with asyncio.timeout(seconds):
        return await aw


class _Dead(Exception):
    """The connection failed before any byte of the response: safe to retry on a fresh one."""

    def __init__(self, error: httpx.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class _Pool:
    """Connections to one origin. The semaphore counts checked-out connections; a new one is
    opened only when none is idle, so idle + checked out never exceeds the limit."""

    def __init__(self, max_connections: int, expiry: float) -> None:
        self.slots = asyncio.Semaphore(max_connections)
        self.idle: deque[_Conn] = deque()
        self.conns: set[_Conn] = set()
        self.expiry = expiry
        self.closed = False

    async def acquire(self, seconds: float | None, request: httpx.Request) -> None:
        try:
            await _within(self.slots.acquire(), None if not self.slots.locked() else seconds)
        except TimeoutError:
            raise httpx.PoolTimeout("no connection free in the pool", request=request) from None

    def take_idle(self, now: float) -> _Conn | None:
        while self.idle and now - self.idle[0].idle_since >= self.expiry:
            self.discard(self.idle.popleft())
        while self.idle:
            conn = self.idle.pop()  # the most recently used is the likeliest to be alive
            if not (conn.reader.at_eof() or conn.writer.is_closing()):
                return conn
            self.discard(conn)
        return None

    def release(self, conn: _Conn, reusable: bool, now: float) -> None:
        if reusable and not self.closed:
            conn.idle_since = now
            self.idle.append(conn)
        else:
            self.discard(conn)
        self.slots.release()

    def discard(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        conn.close()

    def discard_idle(self) -> None:
        """One idle connection was found closed: the others idled as long, so go too."""
        while self.idle:
            self.discard(self.idle.pop())

    def close(self) -> None:
        self.closed = True
        for conn in self.conns:
            conn.close()
        self.conns.clear()
        self.idle.clear()


class _Response:
    """httptools callbacks for one response: its head, then body pieces as they are parsed."""

    __slots__ = ("body", "complete", "framed", "head_done", "head_only", "headers", "keep_alive",
                 "parser", "received", "status")

    def __init__(self, head_only: bool) -> None:
        # The parser holds this object's callbacks and this object holds the parser: a
        # reference cycle, broken (``parser = None``) as soon as the message is complete
        # or the body closed. Left to the cycle collector, one per request made its
        # pauses the gateway's largest latency spikes.
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.head_only = head_only
        self.head_done = self.complete = self.received = False
        self.framed = False  # a length or chunked coding: EOF before the end is an error
        self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        status = self.parser.get_status_code()
        if status < 200:  # interim (100 Continue): the real head follows
            self.headers = []
            return
        self.head_done = True
        self.status = status
        self.framed = self.head_only or status in (204, 304) or any(
            n.lower() in _FRAMING for n, _ in self.headers)
        # read now: llhttp resets its flags once the message completes
        self.keep_alive = self.parser.should_keep_alive()
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True
            self.parser = None  # (the parser is still referenced by the feed_data call)

    def feed(self, data: bytes, request: httpx.Request) -> None:
        self.received = True
        if self.parser is None:  # bytes after a complete answer: the connection is not reusable
            self.keep_alive = False
            return
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            raise httpx.RemoteProtocolError(f"invalid HTTP response: {exc!r}", request=request) from None


async def _read(conn: _Conn, seconds: float | None, request: httpx.Request) -> bytes:
    try:
        return await _within(conn.reader.read(READ_SIZE), seconds)
    except TimeoutError:
        raise httpx.ReadTimeout("timed out reading the response", request=request) from None
    except OSError as exc:
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from None


class _Body(httpx.AsyncByteStream):
    """The response body, yielded as it arrives; closing it gives the connection back."""

    def __init__(self, pool: _Pool, conn: _Conn, resp: _Response, request: httpx.Request,
                 read_timeout: float | None) -> None:
        self._pool, self._conn, self._resp = pool, conn, resp
        self._request, self._read_timeout = request, read_timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        resp = self._resp
        while True:
            if resp.body:
                chunks, resp.body = resp.body, []
                for chunk in chunks:
                    yield chunk
            if resp.complete:
                return
            data = await _read(self._conn, self._read_timeout, self._request)
            if not data:
                if resp.framed:
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body", request=self._request)
                resp.complete, resp.keep_alive = True, False  # the body was delimited by the close
                return
            resp.feed(data, self._request)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            resp = self._resp
            resp.parser = None  # break the parser's cycle also when the body was not read to its end
            self._pool.release(self._conn, resp.complete and resp.keep_alive and not resp.body,
                               time.monotonic())


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a keep-alive pool of ``max_connections`` per
    (scheme, host, port). Timeouts come from ``request.extensions["timeout"]``.

    Idle connections are dropped after ``keepalive_expiry`` seconds: below the 5 s idle
    timeout of uvicorn and Node servers, so a connection is rarely reused just as the
    server closes it (the race that ends in :class:`StaleConnection`)."""

    def __init__(self, max_connections: int = 100, *, keepalive_expiry: float = 4.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._pools: dict[Origin, _Pool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        data = _serialize(request, await request.aread())
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool(self._max, self._expiry)
        await pool.acquire(timeout.get("pool"), request)
        try:
            conn, resp = await self._send(pool, origin, data, request, timeout)
        except BaseException:
            pool.slots.release()
            raise
        status = resp.status
        stream = _Body(pool, conn, resp, request, timeout.get("read"))
        return httpx.Response(status, headers=resp.headers, stream=stream,
                              extensions={"http_version": b"HTTP/1.1"})

    async def _send(self, pool: _Pool, origin: Origin, data: bytes, request: httpx.Request,
                    timeouts: dict[str, Any]) -> tuple[_Conn, _Response]:
        # monotonic, not loop.time(): the same clock on release, and no getpid() (Python 3.11's
        # get_running_loop) per request
        conn = pool.take_idle(time.monotonic())
        if conn is not None:
            try:
                return conn, await self._exchange(conn, data, request, timeouts)
            except _Dead as dead:
                # A keep-alive connection can be closed by the server at any moment while it
                # sits idle; we only learn so on the next request. Nothing of a response came
                # back: the caller's retry policy may send it again (the next try gets a fresh
                # connection), and counts that as an attempt.
                pool.discard(conn)
                pool.discard_idle()
                raise StaleConnection(f"kept-alive connection closed by the server: {dead}",
                                      request=request) from None
            except BaseException:
                pool.discard(conn)
                raise
        conn = await self._connect(origin, timeouts.get("connect"), request)
        pool.conns.add(conn)
        try:
            return conn, await self._exchange(conn, data, request, timeouts)
        except _Dead as dead:
            pool.discard(conn)
            raise dead.error from None
        except BaseException:
            pool.discard(conn)
            raise

    async def _connect(self, origin: Origin, seconds: float | None, request: httpx.Request) -> _Conn:
        scheme, host, port = origin
        ctx: ssl.SSLContext | None = None
        if scheme == "https":
            ctx = self._ssl = self._ssl or tls_context()
        try:
            reader, writer = await _within(asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=host if ctx else None), seconds)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return _Conn(reader, writer)

    async def _exchange(self, conn: _Conn, data: bytes, request: httpx.Request,
                        timeouts: dict[str, Any]) -> _Response:
        """Write the request and read up to the end of the response head."""
        try:
            conn.writer.write(data)
            if conn.writer.transport.get_write_buffer_size():
                await _within(conn.writer.drain(), timeouts.get("write"))
            else:  # all sent at once: drain only checks for a lost connection and cannot wait
                await conn.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request", request=request) from None
        except OSError as exc:
            raise _Dead(httpx.WriteError(f"{type(exc).__name__}: {exc}", request=request)) from None
        resp = _Response(request.method == "HEAD")
        while not resp.head_done:
            try:
                chunk = await _read(conn, timeouts.get("read"), request)
            except httpx.ReadError as exc:
                if resp.received:
                    raise
                raise _Dead(exc) from None
            if not chunk:
                error = httpx.RemoteProtocolError("server disconnected without sending a response",
                                                  request=request)
                if resp.received:
                    raise error
                raise _Dead(error)
            resp.feed(chunk, request)
        return resp

    async def aclose(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    parts = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    framed = has_host = False
    for name, value in request.headers.raw:
        low = name.lower()
        if low in _FRAMING:
            framed = True
            continue
        if b"\r" in value or b"\n" in value:
            raise httpx.LocalProtocolError(f"line break in header {name!r}", request=request)
        has_host = has_host or low == b"host"
        parts.append(b"%s: %s\r\n" % (name, value))
    if not has_host:
        parts.insert(1, b"Host: %s\r\n" % url.netloc)
    if body or framed:
        parts.append(b"Content-Length: %d\r\n" % len(body))
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)

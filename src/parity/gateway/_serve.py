"""Serving the gateway with uvicorn, with limits against slow and greedy clients.

uvicorn on its own holds a connection that never sends a byte, or sends its
head or body one byte a minute, for as long as the client likes: 500 such
connections need no key and cost 500 file descriptors. ``GuardedProtocol``
(uvicorn's httptools protocol, plus three rules) closes a connection whose
request does not arrive whole within ``request_timeout_s``, whose head grows
past ``max_header_bytes``, or that would be more than
``max_connections_per_client`` from one address waiting for a request. Idle keep-alive connections
close after ``timeout_keep_alive_s`` and ``limit_concurrency`` bounds the
whole server (uvicorn answers 503 past it).

The connection's writes are corked (:class:`Corked`): uvicorn writes a
response's head, its body and every chunk of a stream with a call each, and
every call is a ``send`` system call, the costliest thing the gateway does per
request; the writes of one event-loop turn leave as one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._config import ServerSettings

log = logging.getLogger("parity.gateway")


class GuardedProtocol(HttpToolsProtocol):
    """One connection; the settings and the per-address counts are the server's (class attributes
    of the subclass ``guarded_protocol`` makes).

    The per-address cap counts *waiting* connections: new ones that have not sent a whole
    request yet, and those in the middle of sending one. That is what a slowloris client
    holds. A busy client's connections are being served, or idle between requests (which
    ``timeout_keep_alive_s`` bounds), and do not count: a batch job with many requests in
    flight, or many kept-alive connections after a burst, is not cut off.
    """

    settings: ServerSettings
    waiting: Counter[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._in_head = True
        self._address: str | None = None
        self._waiting = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Corked(transport, self.loop))  # type: ignore[arg-type]
        self._address = self.client[0] if self.client else None
        cap = self.settings.max_connections_per_client
        if cap and self._address is not None and self.waiting[self._address] >= cap:
            log.warning("parity gateway: %d connections from one address wait for a request; closing", cap)
            transport.abort()
            return
        self._wait(True)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._wait(False)
        super().connection_lost(exc)

    def _wait(self, waiting: bool) -> None:
        if self._address is None or waiting == self._waiting:
            return
        self._waiting = waiting
        self.waiting[self._address] += 1 if waiting else -1
        if self.waiting[self._address] <= 0:
            del self.waiting[self._address]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # still no complete head after these bytes: count them against the head's limit
            self._head_bytes += len(data)
            if self._head_bytes > self.settings.max_header_bytes:
                self.transport.abort()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0
        self._wait(True)
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()  # the request is in: the app's own timeouts take over
        self._wait(False)
        super().on_message_complete()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.settings.request_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class Corked:
    """A transport whose writes of one event-loop turn are sent with one call, at the end of
    the turn (``call_soon``): a whole answer's head and body, or the frames of one upstream read,
    cost one ``send`` instead of one each. Order is kept; ``close`` sends what is pending first,
    ``abort`` drops it. Everything else is the transport's own."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol(settings: ServerSettings) -> type[GuardedProtocol]:
    """A protocol class bound to one server's settings and address counts."""
    return type("GatewayProtocol", (GuardedProtocol,), {"settings": settings, "waiting": Counter()})


def uvicorn_config(app: Any, settings: ServerSettings, host: str, port: int, **kw: Any) -> uvicorn.Config:
    """The uvicorn configuration ``parity gateway serve`` runs with (tests use it too)."""
    return uvicorn.Config(
        app, host=host, port=port, http=guarded_protocol(settings),
        timeout_keep_alive=settings.timeout_keep_alive_s,
        limit_concurrency=settings.limit_concurrency or None,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        log_level="warning", access_log=False, **kw,
    )

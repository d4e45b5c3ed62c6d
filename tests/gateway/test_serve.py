"""The gateway served by uvicorn on 127.0.0.1: slow clients, hang-ups, keys on every route.

Timeouts here are bounds on hangs, not performance thresholds: a stalled connection
must be closed by the server's own (short, configured) request timeout long before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from parity.fake import FakeEndpoint, Slow, free_port
from parity.gateway import GatewayConfig, create_app, hash_key, uvicorn_config

from .conftest import make_config

KEY = "gw-test-key-0123456789"
BODY = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


@contextlib.contextmanager
def served(app: Any, config: GatewayConfig) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, config.server, "127.0.0.1", port, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "gateway did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _closed_within(sock: socket.socket, bound_s: float) -> bool:
    """True once the server has closed the connection (EOF or reset), False if still open at the bound."""
    sock.settimeout(bound_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def _post_head(length: int, key: str | None = None, path: str = "/v1/chat/completions") -> bytes:
    auth = f"authorization: Bearer {key}\r\n" if key else ""
    return (f"POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n{auth}"
            f"content-length: {length}\r\n\r\n").encode()


def test_stalled_heads_and_bodies_and_silent_connections_are_closed() -> None:
    cfg = make_config(["a"], server={"request_timeout_s": 0.5})
    app = create_app(cfg, transports={"a": httpx.ASGITransport(FakeEndpoint())})
    with served(app, cfg) as port:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]
        for i, s in enumerate(socks):
            if i % 3 == 1:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n")  # a head that never ends
            elif i % 3 == 2:
                s.sendall(_post_head(len(BODY)) + BODY[:10])  # a body that never ends
        assert all(_closed_within(s, 20) for s in socks)
        for s in socks:
            s.close()
        r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", content=BODY, timeout=20)
        assert r.status_code == 200  # the server itself is fine


def test_connections_per_address_are_capped_and_heads_bounded() -> None:
    cfg = make_config(["a"], server={"max_connections_per_client": 5, "max_header_bytes": 2048})
    app = create_app(cfg, transports={"a": httpx.ASGITransport(FakeEndpoint())})
    with served(app, cfg) as port:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        extra = socket.create_connection(("127.0.0.1", port))
        assert _closed_within(extra, 20)
        for s in socks:
            s.close()
        big = socket.create_connection(("127.0.0.1", port))
        big.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nx-junk: " + b"a" * 8192)
        assert _closed_within(big, 20)
        big.close()
        deadline = time.monotonic() + 20  # the closed sockets' slots come back
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", content=BODY, timeout=20)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.status_code == 200


class _Entered:
    """The gateway's app, noting each time the server hands it a request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.entered = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.entered.set()
        await self.app(scope, receive, send)


class _Watched:
    """An upstream that takes its time, and notes whether its request was abandoned."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat/completions", BODY), ("/v1/responses", orjson.dumps({"model": "m", "input": "hi"})),
    ("/v1/completions", orjson.dumps({"model": "m", "prompt": "hi"}))])
def test_client_hang_up_cancels_the_attempt_and_blames_nobody(caplog: pytest.LogCaptureFixture, path: str,
                                                              body: bytes) -> None:
    upstream = _Watched()
    cfg = make_config(["a"])
    app = create_app(cfg, transports={"a": httpx.ASGITransport(upstream)})
    gw = app.state.gateway
    reading = _Entered(app)  # the server called the app: the head is in, the body is being read
    with served(reading, cfg) as port, caplog.at_level(logging.ERROR):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(_post_head(len(body), path=path) + body)
        assert upstream.started.wait(20)
        s.close()
        assert upstream.cancelled.wait(20)  # not left running to its timeout
        reading.entered.clear()
        half = socket.create_connection(("127.0.0.1", port))  # gone during the upload
        half.sendall(_post_head(len(body), path=path) + body[:5])
        assert reading.entered.wait(20)
        half.close()
        deadline = time.monotonic() + 20
        while gw.metrics.registry.get_sample_value(
                "parity_gateway_requests_total", {"model": "-", "outcome": "client_disconnect"}) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert gw.metrics.registry.get_sample_value(
        "parity_gateway_requests_total", {"model": "m", "outcome": "client_disconnect"}) == 1
    assert gw.stats["a"].errors.n == 0 and gw.ejector.admitted()["a"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_every_route_but_the_open_ones_needs_a_key(harness: Any) -> None:
    cfg = make_config(["a"], server={"api_key_hashes": [hash_key(KEY)]})
    h = harness({"a": FakeEndpoint()}, cfg)
    for path in ("/v1/models", "/v1/models/m"):
        assert (await h.client.get(path)).status_code == 401
        assert (await h.client.get(path, headers={"authorization": f"Bearer {KEY}"})).status_code == 200
    for path in ("/healthz", "/metrics"):  # open by default (scrapers, probes)
        assert (await h.client.get(path)).status_code == 200
    closed = harness({"a": FakeEndpoint()}, make_config(["a"], server={"api_key_hashes": [hash_key(KEY)],
                                                                      "open_paths": []}))
    for path in ("/v1/models", "/healthz", "/metrics"):
        assert (await closed.client.get(path)).status_code == 401
        assert (await closed.client.get(path, headers={"authorization": f"Bearer {KEY}"})).status_code == 200


def test_slow_upstream_is_unaffected_by_the_request_timeout() -> None:
    """The request timeout bounds the client's upload only, not the time an answer takes."""
    cfg = make_config(["a"], server={"request_timeout_s": 0.3})
    app = create_app(cfg, transports={"a": httpx.ASGITransport(FakeEndpoint(lambda b: Slow(1.0, _answer())))})
    with served(app, cfg) as port:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", content=BODY, timeout=20)
        assert r.status_code == 200


def _answer() -> Any:
    from parity.fake import Answer

    return Answer()

"""FastTransport against real sockets: a raw HTTP/1.1 server on 127.0.0.1, counting connections."""

from __future__ import annotations

import asyncio
import gc
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from parity.client import (
    ChatClient,
    FastTransport,
    RetryPolicy,
    StaleConnection,
    default_transport,
    tls_context,
)
from parity.config import ConfigError, EndpointConfig
from parity.exchange import ExchangeStatus
from parity.fake import free_port

# respond(n, request, writer): answer the n-th request on this connection; False closes it
Respond = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """Reads each request (head and Content-Length body) and lets ``respond`` write the answer."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.accepted = self.open = self.max_open = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            for n in range(1_000):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                if not await self.respond(n, self.requests[-1], writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Respond], Awaitable[Server]]]:
    made: list[Server] = []

    async def make(respond: Respond) -> Server:
        s = Server(respond)
        await s.start()
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


def ok(body: bytes = b"hello", delay: float = 0.0, extra: bytes = b"") -> Respond:
    async def respond(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        if delay:
            await asyncio.sleep(delay)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body))
        return True
    return respond


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def client(transport: httpx.AsyncBaseTransport, **timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, **timeout))


async def test_content_length_body_and_the_request_as_sent(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok(b'{"ok": true}', extra=b"Content-Type: application/json\r\n"))
    async with client(FastTransport()) as c:
        r = await c.post(s.url + "/v1/chat?x=1", content=b"payload", headers={"x-key": "k"})
    assert r.status_code == 200 and r.json() == {"ok": True} and r.http_version == "HTTP/1.1"
    assert r.headers["content-type"] == "application/json"
    head, body = s.requests[0].split(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert lines[0] == b"post /v1/chat?x=1 http/1.1" and body == b"payload"
    assert f"host: {s.url[7:]}".encode() in lines and b"x-key: k" in lines and b"content-length: 7" in lines


async def test_chat_client_sends_the_bytes_httpx_auto_headers_give(
        serve: Callable[[Respond], Awaitable[Server]]) -> None:
    """ChatClient hands FastTransport a request without httpx's automatic Host and Content-Length
    (it writes them itself): the request on the wire is byte for byte the one built with them."""
    s = await serve(ok(b'{"ok": true}'))
    ep = EndpointConfig(name="e", base_url=s.url + "/v1", model="m", headers={"x-key": "k"})
    async with ChatClient(ep, api_key="sk-test", transport=FastTransport()) as chat:
        r = await chat._open(b'{"model": "m"}')
        await r.aread()
        await r.aclose()
    full = httpx.Request("POST", s.url + "/v1/chat/completions", headers=chat._headers, content=b'{"model": "m"}')
    transport = FastTransport()
    async with client(transport) as c:
        r2 = await c.send(full)
        await r2.aread()
    assert len(s.requests) == 2 and s.requests[0] == s.requests[1]
    assert s.requests[0].split(b"\r\n")[1] == f"Host: {s.url[7:]}".encode()
    assert b"\r\nContent-Length: 14\r\n\r\n" in s.requests[0]


async def test_chunked_body_then_the_connection_is_reused(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    async def chunked(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        return True

    s = await serve(chunked)
    async with client(FastTransport()) as c:
        assert [(await c.get(s.url)).text for _ in range(3)] == ["hello world"] * 3
    assert s.accepted == 1


async def test_sse_chunks_arrive_before_the_body_ends(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    first_read = asyncio.Event()
    sent_last = False

    async def sse(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        nonlocal sent_last
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        w.write(chunk(b"data: first\n\n"))
        await first_read.wait()  # the rest only once the client has the first event
        for i in range(3):
            await asyncio.sleep(0.01)
            w.write(chunk(b"data: more %d\n\n" % i))
        sent_last = True
        w.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        return True

    s = await serve(sse)
    async with client(FastTransport()) as c, c.stream("POST", s.url, content=b"{}") as r:
        chunks: list[bytes] = []
        async for raw in r.aiter_raw():
            if not chunks:
                assert raw == b"data: first\n\n" and not sent_last
                first_read.set()
            chunks.append(raw)
    assert b"".join(chunks).endswith(b"data: [DONE]\n\n") and len(chunks) >= 4


async def test_keep_alive_one_connection_for_sequential_requests(
        serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok())
    async with client(FastTransport()) as c:
        for _ in range(20):
            assert (await c.post(s.url, content=b"x")).text == "hello"
    assert s.accepted == 1 and len(s.requests) == 20


@pytest.mark.parametrize("respond", ["length", "chunked", "close"])
async def test_responses_leave_no_reference_cycles(serve: Callable[[Respond], Awaitable[Server]],
                                                   respond: str) -> None:
    """A cycle per response (parser <-> callbacks) made the collector pause the gateway
    every few hundred requests: responses must be freed by reference counting alone."""
    async def chunked(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        return True

    async def close_delimited(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\n\r\nhello")
        return False

    s = await serve({"length": ok(), "chunked": chunked, "close": close_delimited}[respond])
    transport = FastTransport()

    async def one() -> bytes:
        # As the client and the gateway use it: straight to the transport (httpx's
        # AsyncClient makes cycles of its own, response <-> bound stream).
        response = await transport.handle_async_request(httpx.Request("POST", s.url, content=b"x"))
        try:
            return await response.aread()
        finally:
            await response.aclose()

    assert await one() == b"hello"  # the pool and its connection exist before counting
    gc.collect()
    gc.disable()
    try:
        for _ in range(10):
            assert await one() == b"hello"
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        leaked = [type(o).__name__ for o in gc.garbage if type(o).__module__ == "parity.client._transport"
                  or type(o).__name__ == "HttpResponseParser"]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        await transport.aclose()
    assert leaked == []


async def test_close_delimited_body_is_read_and_not_reused(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    async def close_delimited(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        return False

    s = await serve(close_delimited)
    async with client(FastTransport()) as c:
        assert [(await c.get(s.url)).text for _ in range(2)] == ["all of it"] * 2
    assert s.accepted == 2


async def test_connection_close_header_is_honoured(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok(extra=b"Connection: close\r\n"))
    async with client(FastTransport()) as c:
        for _ in range(2):
            assert (await c.get(s.url)).text == "hello"
    assert s.accepted == 2


async def test_server_closing_idle_connection_is_survived(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    async def answer_then_close(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        await ok()(n, request, w)
        await w.drain()
        return False  # no Connection: close header: the client learns only from the socket

    s = await serve(answer_then_close)
    async with client(FastTransport()) as c:
        for _ in range(3):
            assert (await c.get(s.url)).text == "hello"
            await asyncio.sleep(0.01)
    assert s.accepted == 3


async def test_dead_keep_alive_connection_is_not_resent_by_the_transport(
        serve: Callable[[Respond], Awaitable[Server]]) -> None:
    # The race: the request is written to a kept-alive connection that the server drops
    # before answering. The transport says so (StaleConnection) and sends nothing again:
    # resending is the retry policy's, counted as an attempt (tests/client/test_client.py).
    async def second_dropped(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        if n == 1:
            return False
        return await ok()(n, request, w)

    s = await serve(second_dropped)
    async with client(FastTransport()) as c:
        assert (await c.post(s.url, content=b"x")).text == "hello"
        with pytest.raises(StaleConnection, match="kept-alive connection closed"):
            await c.post(s.url, content=b"x")
        assert (await c.post(s.url, content=b"x")).text == "hello"  # on a fresh connection
    assert s.accepted == 2 and len(s.requests) == 3


async def test_fresh_connection_dropped_is_not_retried(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    async def drop(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        return False

    s = await serve(drop)
    async with client(FastTransport()) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(s.url)
    assert s.accepted == 1


@pytest.mark.parametrize("head", [b"Content-Length: 100\r\n", b"Transfer-Encoding: chunked\r\n"])
async def test_server_closing_mid_body_is_an_error(serve: Callable[[Respond], Awaitable[Server]],
                                                   head: bytes) -> None:
    async def cut(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        body = b"0123456789" if head.startswith(b"Content") else b"a\r\n0123456789\r\n"
        w.write(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + body)
        return False

    s = await serve(cut)
    async with client(FastTransport()) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await c.get(s.url)


async def test_garbage_is_a_protocol_error(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    async def garbage(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"SPDY/9 what is this\r\n\r\n")
        return True

    s = await serve(garbage)
    async with client(FastTransport()) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(s.url)


async def test_connect_refused_is_a_connect_error() -> None:
    async with client(FastTransport()) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(f"http://127.0.0.1:{free_port()}/")


async def test_read_timeout(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok(delay=2.0))
    async with client(FastTransport(), read=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(s.url)


async def test_pool_limit_is_respected(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok(delay=0.05))
    async with client(FastTransport(max_connections=2)) as c:
        replies = await asyncio.gather(*(c.get(s.url) for _ in range(5)))
    assert [r.text for r in replies] == ["hello"] * 5
    assert s.max_open <= 2 and s.accepted <= 2


async def test_pool_timeout(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok(delay=1.0))
    async with client(FastTransport(max_connections=1), pool=0.05) as c:
        slow = asyncio.ensure_future(c.get(s.url))
        await asyncio.sleep(0.02)
        with pytest.raises(httpx.PoolTimeout):
            await c.get(s.url)
        assert (await slow).text == "hello"


async def test_aclose_closes_every_connection(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(ok())
    transport = FastTransport()
    async with client(transport) as c:
        await asyncio.gather(*(c.get(s.url) for _ in range(3)))
        assert s.open == s.accepted > 0
    for _ in range(100):
        if s.open == 0:
            break
        await asyncio.sleep(0.01)
    assert s.open == 0


PROXY_VARS = [v for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
              for v in (name, name.upper())]


def test_default_transport_falls_back_to_httpx_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    assert isinstance(default_transport(4), FastTransport)
    assert isinstance(default_transport(4, url="https://api.example/v1"), FastTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert isinstance(default_transport(4), httpx.AsyncHTTPTransport)
    assert isinstance(default_transport(4, url="https://api.example/v1"), httpx.AsyncHTTPTransport)
    # the proxy is for https only; and NO_PROXY hosts are reached directly
    assert isinstance(default_transport(4, url="http://api.example/v1"), FastTransport)
    monkeypatch.setenv("no_proxy", "api.example")
    assert isinstance(default_transport(4, url="https://api.example/v1"), FastTransport)


def test_one_trust_store_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    default = tls_context()
    assert default is tls_context() and len(default.get_ca_certs()) > 50  # certifi's roots
    fast = default_transport(4, url="https://api.example/v1")
    assert isinstance(fast, FastTransport) and fast._ssl is default
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    proxied = default_transport(4, url="https://api.example/v1")
    assert isinstance(proxied, httpx.AsyncHTTPTransport)
    assert proxied._pool._ssl_context is default  # the same context, not httpx's own
    with pytest.raises(ValueError, match=r"ca_bundle '/nonexistent\.pem' cannot be used"):
        tls_context(ca_bundle="/nonexistent.pem")


def make_cert(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


async def https_server(cert: Path, key: Path, respond: Respond) -> tuple[Server, int]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    s = Server(respond)
    s._server = await asyncio.start_server(s._serve, "127.0.0.1", 0, ssl=server_ctx)
    return s, s._server.sockets[0].getsockname()[1]


NEEDS_OPENSSL = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="needs the openssl command to make a certificate")


@NEEDS_OPENSSL
async def test_a_private_ca_is_trusted_only_when_named(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    s, port = await https_server(cert, key, ok(b"secret"))
    url = f"https://localhost:{port}/"
    try:
        async with client(FastTransport()) as c:  # certifi's roots: a self-signed cert is refused
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await c.get(url)
        async with client(FastTransport(ssl_context=tls_context(ca_bundle=cert))) as c:
            assert (await c.get(url)).text == "secret"
        async with client(FastTransport(ssl_context=tls_context(verify=False))) as c:
            assert (await c.get(f"https://127.0.0.1:{port}/")).text == "secret"  # nothing checked
    finally:
        await s.close()


@NEEDS_OPENSSL
async def test_https_with_server_name_check(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    s, port = await https_server(cert, key, ok(b"secret"))
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with client(FastTransport(ssl_context=trusting)) as c:
            assert [(await c.get(f"https://localhost:{port}/")).text for _ in range(2)] == ["secret"] * 2
            with pytest.raises(httpx.ConnectError):  # the name is checked: the cert is not for 127.0.0.1
                await c.get(f"https://127.0.0.1:{port}/")
        assert s.accepted == 1  # both on one connection; the refused handshake never got one
    finally:
        await s.close()


# --- the resend of a stale connection is the retry policy's, and counted -------------------------
ANSWER = (b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},'
          b' "finish_reason": "stop"}]}')


def drop_requests(*dropped: int) -> Respond:
    """Answer with a completion, except the n-th requests on a connection: closed unanswered."""
    async def respond(n: int, request: bytes, w: asyncio.StreamWriter) -> bool:
        if n in dropped:
            return False
        return await ok(ANSWER, extra=b"Content-Type: application/json\r\n")(n, request, w)
    return respond


def chat_client(url: str, retry: RetryPolicy) -> ChatClient:
    ep = EndpointConfig(name="ep", base_url=f"{url}/v1", model="m")
    return ChatClient(ep, transport=FastTransport(), retry=retry)


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_a_stale_connection_is_sent_again_and_counted(
        serve: Callable[[Respond], Awaitable[Server]], max_attempts: int) -> None:
    s = await serve(drop_requests(1))
    async with chat_client(s.url, RetryPolicy(max_attempts=max_attempts)) as c:
        first, second = [await c.chat({"messages": []}) for _ in range(2)]
    assert first.status is ExchangeStatus.OK and first.attempts == 1
    # sent twice (dropped on the kept-alive connection, then on a fresh one): two attempts,
    # even where the policy allows one (the resend is outside max_attempts, not hidden)
    assert second.status is ExchangeStatus.OK and second.attempts == 2
    assert len(s.requests) == 3 and s.accepted == 2


async def test_stale_resends_are_bounded(serve: Callable[[Respond], Awaitable[Server]]) -> None:
    s = await serve(drop_requests(*range(1, 1000)))  # every connection answers its first request only
    async with chat_client(s.url, RetryPolicy(max_attempts=1, stale_resends=1)) as c:
        assert (await c.chat({"messages": []})).attempts == 1
        # stale, resent on a fresh connection, answered; then stale again: no resend is left
        assert (await c.chat({"messages": []})).attempts == 2
    async with chat_client(s.url, RetryPolicy(max_attempts=1, stale_resends=0)) as c:
        assert (await c.chat({"messages": []})).status is ExchangeStatus.OK
        r = await c.chat({"messages": []})
    assert r.status is ExchangeStatus.CONNECT_ERROR and r.attempts == 1
    assert r.error is not None and "StaleConnection" in r.error


@NEEDS_OPENSSL
async def test_an_endpoint_names_its_ca_bundle(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    s, port = await https_server(cert, key, drop_requests())
    base = f"https://localhost:{port}/v1"
    try:
        for kw, status in [({}, ExchangeStatus.CONNECT_ERROR), ({"ca_bundle": str(cert)}, ExchangeStatus.OK),
                           ({"verify": False}, ExchangeStatus.OK)]:
            ep = EndpointConfig(name="ep", base_url=base, model="m", max_attempts=1, **kw)
            async with ChatClient(ep) as c:
                assert (await c.chat({"messages": []})).status is status, kw
        with pytest.raises(ConfigError, match="endpoint 'ep': ca_bundle"):
            ChatClient(EndpointConfig(name="ep", base_url=base, model="m", ca_bundle=str(tmp_path / "no.pem")))
    finally:
        await s.close()

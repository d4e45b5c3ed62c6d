"""Streamed requests through the gateway obey the endpoint's limits, and its TLS settings.

Real HTTP on 127.0.0.1: the gateway served by uvicorn, the upstream an asyncio
server of the test's own that counts the streams it has open and notes when each
arrived. Streams open through ``ChatClient.stream`` like every other request,
so ``max_concurrency`` and ``requests_per_second`` hold for them too.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from parity.gateway import create_app

from .conftest import make_config
from .test_serve import served

HOLD_S = 0.3  # how long the upstream keeps each stream open after its first token

CHAT = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
COMPLETIONS = [{"choices": [{"index": 0, "text": "hi", "finish_reason": None}]},
               {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}]


class SseUpstream:
    """Answers every POST with a short event stream held open HOLD_S after its first event."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.open = self.max_open = 0
        self.arrivals: list[float] = []
        self.tls = tls

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https://localhost' if self.tls else 'http://127.0.0.1'}:{port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            self.arrivals.append(time.monotonic())
            self.open += 1
            self.max_open = max(self.max_open, self.open)
            events = COMPLETIONS if head.startswith(b"POST /v1/completions") else CHAT
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                         + b"data: " + orjson.dumps(events[0]) + b"\n\n")
            await writer.drain()
            await asyncio.sleep(HOLD_S)
            self.open -= 1
            writer.write(b"data: " + orjson.dumps(events[1]) + b"\n\ndata: [DONE]\n\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def upstream() -> AsyncIterator[SseUpstream]:
    up = SseUpstream()
    yield up
    await up.close()


def _body(path: str) -> dict[str, Any]:
    if path == "/v1/completions":
        return {"model": "m", "prompt": "hi", "stream": True}
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


async def _streams(port: int, path: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        return list(await asyncio.gather(*(c.post(path, json=_body(path)) for _ in range(n))))


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
async def test_max_concurrency_holds_for_streams(upstream: SseUpstream, path: str) -> None:
    base = await upstream.start()
    cfg = make_config(["a"], urls={"a": base}, endpoint={"max_concurrency": 2})
    with served(create_app(cfg), cfg) as port:
        answers = await _streams(port, path, 6)
    assert [r.status_code for r in answers] == [200] * 6
    assert all(r.text.endswith("data: [DONE]\n\n") for r in answers)
    assert len(upstream.arrivals) == 6
    # without the endpoint's slots all six would be open at once
    assert upstream.max_open == 2


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
async def test_requests_per_second_holds_for_streams(upstream: SseUpstream, path: str) -> None:
    base = await upstream.start()
    rate, n = 10.0, 11
    cfg = make_config(["a"], urls={"a": base}, endpoint={"requests_per_second": rate})
    with served(create_app(cfg), cfg) as port:
        answers = await _streams(port, path, n)
    assert [r.status_code for r in answers] == [200] * n
    # The token bucket (burst 1) grants the n-th start (n-1)/rate s after the first: 1.0 s here.
    # Unlimited, all eleven arrive within milliseconds; half the spacing leaves room for jitter.
    spread = upstream.arrivals[-1] - upstream.arrivals[0]
    assert spread >= 0.5 * (n - 1) / rate, spread


NEEDS_OPENSSL = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="needs the openssl command to make a certificate")


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


@NEEDS_OPENSSL
async def test_the_gateway_uses_each_endpoints_tls_settings(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    up = SseUpstream(tls)
    base = await up.start()
    try:
        for endpoint, status in [({}, 503), ({"ca_bundle": str(cert)}, 200), ({"verify": False}, 200)]:
            cfg = make_config(["a"], urls={"a": base}, endpoint=endpoint)
            app = create_app(cfg)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
                for path in ("/v1/chat/completions", "/v1/completions"):
                    r = await c.post(path, json=_body(path))
                    assert r.status_code == status, (endpoint, path, r.text)
                    if status == 503:  # a self-signed certificate is refused against certifi's roots
                        assert "connect_error" in r.text
            await app.state.gateway.aclose()
    finally:
        await up.close()

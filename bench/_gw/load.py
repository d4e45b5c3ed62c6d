"""The open-loop load generator (run as: gateway_overhead.py _load URL MODE RATE DURATION).

A minimal HTTP/1.1 client over keep-alive connections, so that the
generator's own cost stays small; a request's latency is the time to its
complete answer (streams: to [DONE]; TTFT: to the first text).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from typing import Any

from .mock import BENCH_KEY, FIRST_TEXT, MODES


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer


async def _body(r: asyncio.StreamReader, head: bytes, t0: float) -> tuple[bytes, float | None]:
    """The answer's body (content-length or chunked) and, when its text is seen, the TTFT."""
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m is not None:
        whole = await r.readexactly(int(m.group(1)))
        return whole, (time.perf_counter() - t0 if FIRST_TEXT in whole else None)
    if not re.search(rb"(?i)transfer-encoding:\s*chunked", head):
        raise RuntimeError("answer has neither content-length nor chunked encoding")
    # Whatever has arrived is parsed at once (one await per network read, not two per chunk).
    raw, body, pos, ttft = bytearray(), bytearray(), 0, None
    while True:
        eol = raw.find(b"\r\n", pos)
        size = int(raw[pos:eol].split(b";")[0], 16) if eol >= 0 else -1
        if size == 0 and len(raw) >= eol + 4:  # the last chunk, no trailers
            return bytes(body), ttft
        if size > 0 and len(raw) >= eol + 2 + size + 2:
            body += raw[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
            continue
        data = await r.read(65536)
        if not data:
            raise asyncio.IncompleteReadError(bytes(raw), None)
        raw += data
        if ttft is None and FIRST_TEXT in raw:
            ttft = time.perf_counter() - t0


async def _request(pool: list[_Conn], host: str, port: int, raw: bytes,
                   t0: float) -> tuple[int, bytes, float | None]:
    reused = bool(pool)
    conn = pool.pop() if pool else _Conn(*await asyncio.open_connection(host, port))
    try:
        conn.w.write(raw)
        head = await conn.r.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        if not reused:
            raise
        # A kept-alive connection the server closed while idle (uvicorn: after 5 s), before
        # any byte of the answer: what every HTTP client does, once, on a fresh connection.
        conn.w.close()
        conn = _Conn(*await asyncio.open_connection(host, port))
        conn.w.write(raw)
        head = await conn.r.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    body, ttft = await _body(conn.r, head, t0)
    pool.append(conn)
    return status, body, ttft


def _complete(mode: str, body: bytes) -> str | None:
    """Why an HTTP 200 answer is not the whole mock answer (None: it is)."""
    if b"get_weather" not in body or FIRST_TEXT not in body:
        return "answer without its text or tool call"
    if mode == "stream" and (not body.endswith(b"data: [DONE]\n\n") or b'"error"' in body):
        return "stream not ended by [DONE], or an error event"
    return None


def _quantiles(xs: list[float], prefix: str) -> dict[str, float]:
    """p50, p99 in ms, and p99's distribution-free 95% interval (order statistics)."""
    xs, n = sorted(xs), len(xs)
    if not n:
        return {f"{prefix}{k}": float("nan") for k in ("p50_ms", "p99_ms", "p99_lo_ms", "p99_hi_ms")}

    def at(i: int) -> float:
        return xs[max(0, min(n - 1, i))] * 1000

    h = 1.96 * math.sqrt(n * 0.99 * 0.01)
    return {f"{prefix}p50_ms": at(int(0.5 * n)), f"{prefix}p99_ms": at(int(0.99 * n)),
            f"{prefix}p99_lo_ms": at(math.floor(0.99 * n - h)), f"{prefix}p99_hi_ms": at(math.ceil(0.99 * n + h))}


async def load(url: str, mode: str, rate: float, duration: float) -> dict[str, Any]:
    hostport, path = url.removeprefix("http://").split("/", 1)
    host, port = hostport.split(":")
    body = json.dumps(MODES[mode]).encode()
    raw = (f"POST /{path} HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\n"
           f"authorization: Bearer {BENCH_KEY}\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
    pool: list[_Conn] = []
    lat: list[float] = []
    ttfts: list[float] = []
    errors: list[str] = []

    async def one() -> None:
        t0 = time.perf_counter()
        try:
            status, answer, ttft = await _request(pool, host, int(port), raw, t0)
            bad = f"HTTP {status}" if status != 200 else _complete(mode, answer)
            if bad:
                errors.append(bad)
                return
            lat.append(time.perf_counter() - t0)
            if ttft is not None:
                ttfts.append(ttft)
        except Exception as exc:
            errors.append(type(exc).__name__)

    for _ in range(20):  # warm-up: open connections, fill caches
        await one()
    lat.clear()
    ttfts.clear()
    errors.clear()
    tasks = []
    start = time.perf_counter()
    n = int(rate * duration)
    for i in range(n):  # open loop: start times do not wait for answers
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return {"n": n, "ok": len(lat), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "achieved_rps": n / (time.perf_counter() - start),
            **_quantiles(lat, ""), **(_quantiles(ttfts, "ttft_") if mode == "stream" else {})}

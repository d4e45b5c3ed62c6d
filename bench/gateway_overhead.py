"""Gateway overhead: latency the parity gateway (and the LiteLLM proxy) adds over calling upstream.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--rates 100,300,500] [--no-litellm]

One run, one machine, the same mock upstream (raw ASGI on uvicorn, sleeping
20 ms, answering with a valid tool call) for all three targets: direct,
parity gateway (in-flight validation on), LiteLLM proxy (installed into
.bench-venv-litellm/ from PyPI on first use). Every server and the load
generator run in processes of their own; the direct and parity figures are
taken first, then the gateway is stopped and LiteLLM started and measured
(one proxy on the cores at a time). The load is open-loop at a fixed
rate over keep-alive connections (a minimal HTTP/1.1 client, so the
generator's own cost stays small); the added latency is the difference of
quantiles, target minus direct, at the same rate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LITELLM_VENV = ROOT / ".bench-venv-litellm"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
BODY = {"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS}
UPSTREAM_DELAY_S = 0.020
# Both proxies check this key (parity by its sha256, LiteLLM as its master key): auth on for both.
BENCH_KEY = "sk-bench-" + "0123456789abcdef" * 2

# --- the mock upstream (run as: gateway_overhead.py _upstream PORT) -----------------------------
_ANSWER = json.dumps({
    "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await asyncio.sleep(UPSTREAM_DELAY_S)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(_ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": _ANSWER})


# --- the load generator (run as: gateway_overhead.py _load URL RATE DURATION) -------------------
class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer


async def _request(pool: list[_Conn], host: str, port: int, raw: bytes) -> int:
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
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m is None:
        raise RuntimeError("mock benchmark expects content-length responses")
    await conn.r.readexactly(int(m.group(1)))
    pool.append(conn)
    return status


async def load(url: str, rate: float, duration: float) -> dict[str, Any]:
    hostport, path = url.removeprefix("http://").split("/", 1)
    host, port = hostport.split(":")
    body = json.dumps(BODY).encode()
    raw = (f"POST /{path} HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\n"
           f"authorization: Bearer {BENCH_KEY}\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
    pool: list[_Conn] = []
    lat: list[float] = []
    errors: list[str] = []

    async def one() -> None:
        t0 = time.perf_counter()
        try:
            status = await _request(pool, host, int(port), raw)
            if status != 200:
                errors.append(f"HTTP {status}")
            else:
                lat.append(time.perf_counter() - t0)
        except Exception as exc:
            errors.append(type(exc).__name__)

    for _ in range(20):  # warm-up: open connections, fill caches
        await one()
    lat.clear()
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
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"n": n, "ok": len(lat), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "p50_ms": q(0.5), "p99_ms": q(0.99), "achieved_rps": n / (time.perf_counter() - start)}


# --- orchestration ------------------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start on port {port}")


def _spawn(args: list[str], port: int, what: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port, proc, what)
    return proc


def _gateway_config(upstream: str, path: Path) -> None:
    from parity.gateway import hash_key

    path.write_text(f"""
[server]
max_connections = 2000
api_key_hashes = ["{hash_key(BENCH_KEY)}"]

[[endpoints]]
name = "mock"
base_url = "{upstream}/v1"
model = "mock"
max_concurrency = 1024

[[models]]
alias = "m"
endpoints = ["mock"]
validate_tool_calls = true
""")


def _litellm(upstream: str, port: int, workdir: Path) -> subprocess.Popen[bytes] | None:
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        print("installing litellm[proxy] into .bench-venv-litellm/ (PyPI) ...", flush=True)
        subprocess.run([PY, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    cfg = workdir / "litellm.yaml"
    cfg.write_text(f"model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/mock\n"
                   f"      api_base: {upstream}/v1\n      api_key: unused\n")
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "true",
           "LITELLM_MASTER_KEY": BENCH_KEY}
    return _spawn([str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)], port,
                  "litellm", env)


def _measure(url: str, rate: float, duration: float) -> dict[str, Any]:
    out = subprocess.run([PY, __file__, "_load", url, str(rate), str(duration)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rates", default="100,300,500")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="parity-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        up_port, gw_port, ll_port = _port(), _port(), _port()
        upstream = f"http://127.0.0.1:{up_port}"
        procs.append(_spawn([PY, __file__, "_upstream", str(up_port)], up_port, "upstream"))
        _gateway_config(upstream, workdir / "gateway.toml")
        # What users run: the CLI command (it also tunes the collector for a long-lived proxy).
        parity = str(Path(PY).parent / "parity")
        procs.append(_spawn([parity, "gateway", "serve", "--config", str(workdir / "gateway.toml"),
                             "--port", str(gw_port)], gw_port, "gateway"))
        targets = {"direct": f"{upstream}/v1/chat/completions",
                   "parity": f"http://127.0.0.1:{gw_port}/v1/chat/completions"}
        results = {(name, r): _measure(url, r, args.duration) for r in rates for name, url in targets.items()}
        if not args.no_litellm:
            # One proxy at a time: the parity gateway is stopped before LiteLLM starts, so
            # neither measures the other's idle or backlog work on the shared cores.
            gateway = procs.pop()
            gateway.terminate()
            gateway.wait(timeout=30)
            proc = _litellm(upstream, ll_port, workdir)
            if proc is not None:
                procs.append(proc)
                targets["litellm"] = f"http://127.0.0.1:{ll_port}/v1/chat/completions"
                results.update({("litellm", r): _measure(targets["litellm"], r, args.duration) for r in rates})
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    table = _table(results, rates, list(targets))
    print(table)
    if not args.no_write:
        _write(table, args)


def _table(results: dict[tuple[str, float], dict[str, Any]], rates: list[float], names: list[str]) -> str:
    lines = ["| rate (req/s) | target | achieved | ok / errors | p50 ms | p99 ms | added p50 ms | added p99 ms |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rates:
        d = results[("direct", r)]
        for name in names:
            x = results[(name, r)]
            add50, add99 = x["p50_ms"] - d["p50_ms"], x["p99_ms"] - d["p99_ms"]
            added = ("—", "—") if name == "direct" else (f"{add50:.2f}", f"{add99:.2f}")
            errs = f" ({', '.join(x['error_kinds'])})" if x["errors"] else ""
            lines.append(f"| {r:.0f} | {name} | {x['achieved_rps']:.0f} | {x['ok']} / {x['errors']}{errs} | "
                         f"{x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {added[0]} | {added[1]} |")
        if "litellm" in names:
            p, ll = results[("parity", r)], results[("litellm", r)]
            ratio = (ll["p99_ms"] - d["p99_ms"]) / max(p["p99_ms"] - d["p99_ms"], 0.01)
            lines.append(f"| {r:.0f} | **LiteLLM added p99 / parity added p99** | | | | | | **{ratio:.1f}×** |")
    top, d = max(rates), results[("direct", max(rates))]
    p = results[("parity", top)]
    add50, add99 = p["p50_ms"] - d["p50_ms"], p["p99_ms"] - d["p99_ms"]
    checks = [f"added p50 ≤ 1 ms: {add50:.2f} ms", f"added p99 ≤ 5 ms: {add99:.2f} ms",
              f"zero errors: {p['errors']}", f"achieved rate ≥ 95% of offered: {p['achieved_rps']:.0f}/{top:.0f}"]
    ok = [add50 <= 1, add99 <= 5, p["errors"] == 0, p["achieved_rps"] >= 0.95 * top]
    if "litellm" in names:
        ll = results[("litellm", top)]
        ratio = (ll["p99_ms"] - d["p99_ms"]) / max(add99, 0.01)
        checks.append(f"≥10× lower added p99 than LiteLLM: {ratio:.1f}×")
        ok.append(ratio >= 10)
    lines.append("")
    lines.append(f"Targets at {top:.0f} req/s: " + "; ".join(
        f"{c} ({'met' if k else 'MISSED'})" for c, k in zip(checks, ok, strict=True)) + ".")
    return "\n".join(lines)


READING = """\
Reading. Below LiteLLM's saturation (50 req/s) both proxies keep up and the ratio is the per-request
cost: parity adds about 2 ms at p99, LiteLLM about 20-90 ms. From 100 req/s on, LiteLLM cannot keep up
on these cores (achieved rate below offered): its figures measure its queue, and the ratio grows with
it. What got parity here (profiles of the gateway process under load): requests go to each upstream
through `parity.client.FastTransport` (asyncio + httptools, keep-alive) instead of httpx's client
stack (was ~45% of the gateway's CPU); the parser's reference cycle per response is broken by hand,
so the cycle collector -- whose pauses made the p99 -- has nearly nothing to do; `parity gateway
serve` freezes its start-up objects out of the collector's sight; uvicorn runs on uvloop and
httptools. The p99 varies run to run by about ±1 ms on this shared 2-core machine."""


def _write(table: str, args: argparse.Namespace) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    cmd = f".venv/bin/python bench/gateway_overhead.py --duration {args.duration:g} --rates {args.rates}"
    cmd += " --no-litellm" if args.no_litellm else ""
    section = (f"## Gateway overhead\n\nMeasured {datetime.date.today().isoformat()} with `{cmd}` on "
               f"{os.cpu_count()} CPU cores shared by the upstream, the gateway or LiteLLM (never both at once) "
               f"and the load generator, each its own process. Upstream: mock answering after {UPSTREAM_DELAY_S * 1000:.0f} ms "
               "with a tool call; parity validates it in flight. Added = target quantile minus direct quantile "
               "at the same rate.\n\n" + table + "\n\n" + READING + "\n")
    pattern = re.compile(r"## Gateway overhead\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_upstream":
        import uvicorn

        uvicorn.run(upstream_app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False, lifespan="off")
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        print(json.dumps(asyncio.run(load(sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))))
    else:
        main()

"""Gateway overhead: latency the parity gateway (and the LiteLLM proxy) adds over calling upstream.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--rates 500,1000] \
        [--modes whole,stream] [--no-litellm] [--no-write]

One run, one machine, the same mock upstream (raw ASGI on uvicorn) for every
target: direct, parity gateway, LiteLLM proxy (installed into
.bench-venv-litellm/ from PyPI on first use). The upstream answers after 20 ms
with text and a valid tool call: whole (``mode whole``), or for ``stream: true``
as SSE (``mode stream``: the first text delta after 20 ms, then text deltas,
the tool call in three pieces, the finish, usage and [DONE], in groups 2 ms
apart). The gateway runs as users run it (``parity gateway serve``, access log
on, every request, to a file) with every in-flight check on: tool-call
validation, the family-markup scan of the answer's text, secret scrubbing (the
endpoint has an API key from ``api_key_env`` and a secret header value; after
the load, the upstream is made to reflect the header value and the bench
checks it comes back masked, whole and streamed). Every server and the load
generator run in processes of their own; LiteLLM is measured after the gateway
is stopped (one proxy on the cores at a time). The load is open-loop at a
fixed rate over keep-alive connections (a minimal HTTP/1.1 client, so the
generator's own cost stays small); a request's latency is the time to its
complete answer (streams: to [DONE]; TTFT: to the first text); the added
latency is the difference of quantiles, target minus direct, at the same rate
and mode. p99 carries a distribution-free 95% interval (order statistics).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LITELLM_VENV = ROOT / ".bench-venv-litellm"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
BODY = {"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS}
MODES: dict[str, dict[str, Any]] = {"whole": BODY, "stream": {**BODY, "stream": True}}
UPSTREAM_DELAY_S = 0.020
STREAM_GAP_S = 0.002
# Both proxies check this key (parity by its sha256, LiteLLM as its master key): auth on for both.
BENCH_KEY = "sk-bench-" + "0123456789abcdef" * 2
# Marker secrets the gateway sends upstream (and must never let back out): scrubbing on.
UPSTREAM_KEY_ENV = "PARITY_BENCH_UPSTREAM_KEY"
UPSTREAM_KEY = "sk-upstream-" + "a1b2c3d4e5f60718" * 2
HEADER_SECRET = "hdr-secret-" + "0f1e2d3c4b5a6978" * 2
ECHO = b"ECHO-SECRET"  # in a request body: the mock reflects the x-provider-key header value

# --- the mock upstream (run as: gateway_overhead.py _upstream PORT) -----------------------------
TEXT = ["Let me ", "look up the ", "current weather ", "in Paris for you."]
FIRST_TEXT = TEXT[0].encode()
_CALL = {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
_USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def _answer(text: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": text, "tool_calls": [_CALL]}}], "usage": _USAGE}).encode()


def _frame(delta: dict[str, Any] | None, finish: str | None = None, usage: bool = False) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    obj = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock",
           "choices": choices, **({"usage": _USAGE} if usage else {})}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _tool_piece(args: str, head: bool = False) -> dict[str, Any]:
    fn = {"name": "get_weather", "arguments": args} if head else {"arguments": args}
    tc = {"index": 0, "id": "call_0", "type": "function", "function": fn} if head else {"index": 0, "function": fn}
    return {"tool_calls": [tc]}


def _stream(text: list[str]) -> list[list[bytes]]:
    """The answer as SSE frames, in groups sent STREAM_GAP_S apart."""
    return [[_frame({"role": "assistant", "content": text[0]}), _frame({"content": text[1]})],
            [_frame({"content": t}) for t in text[2:]],
            [_frame(_tool_piece("", head=True)), _frame(_tool_piece("{\"city\": "))],
            [_frame(_tool_piece("\"Paris\"}")), _frame({}, "tool_calls"), _frame(None, usage=True),
             b"data: [DONE]\n\n"]]


_ANSWER, _STREAM = _answer("".join(TEXT)), _stream(TEXT)


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    req = json.loads(body)
    answer, frames = _ANSWER, _STREAM
    if ECHO in body:  # the secret reflected: what the scrubber is there for
        secret = dict(scope["headers"]).get(b"x-provider-key", b"").decode()
        answer, frames = _answer("key " + secret), _stream(["key ", secret, " ", "end"])
    await asyncio.sleep(UPSTREAM_DELAY_S)
    if not req.get("stream"):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    for i, group in enumerate(frames):
        if i:
            await asyncio.sleep(STREAM_GAP_S)
        for f in group:
            await send({"type": "http.response.body", "body": f, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


# --- the load generator (run as: gateway_overhead.py _load URL MODE RATE DURATION) --------------
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


def _spawn(args: list[str], port: int, what: str, env: dict[str, str] | None = None,
           log: Path | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=out)
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
api_key_env = "{UPSTREAM_KEY_ENV}"
headers = {{ x-provider-key = "{HEADER_SECRET}" }}

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


def _measure(url: str, mode: str, rate: float, duration: float) -> dict[str, Any]:
    out = subprocess.run([PY, __file__, "_load", url, mode, str(rate), str(duration)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def _scrubbed(url: str, mode: str) -> bool:
    """The upstream reflects the secret header value: the gateway must answer with it masked."""
    body = {**MODES[mode], "messages": [{"role": "user", "content": ECHO.decode()}]}
    req = urllib.request.Request(url, json.dumps(body).encode(), {
        "content-type": "application/json", "authorization": f"Bearer {BENCH_KEY}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = resp.read()
    return HEADER_SECRET.encode() not in answer and b"***" in answer


def _gateway_state(log: Path, scrub: dict[str, bool]) -> str:
    """What was on in the gateway, from its own log and the reflection check."""
    time.sleep(1.0)  # a stream's access-log line is written when it ends, just after the client's read
    text = log.read_text(errors="replace")
    lines = sum(1 for line in text.splitlines() if " event=request " in line)
    leaked = sum(text.count(s) for s in (UPSTREAM_KEY, HEADER_SECRET))
    checks = ", ".join(f"{m}: {'masked' if ok else 'NOT MASKED'}" for m, ok in scrub.items())
    return ("Gateway: `parity gateway serve` with its defaults (access log on for every request, kv, "
            f"to a file: {lines} `request` lines; secret values in the log: {leaked}); in-flight checks on: "
            "tool-call validation against the request's tools, the family-markup scan of the answer's "
            "text, secret scrubbing of answers (2 secrets: the upstream key from `api_key_env`, an "
            f"`x-provider-key` header value; the upstream made to reflect the header value -> {checks}).")


def _run(args: argparse.Namespace, rates: list[float], modes: list[str], workdir: Path,
         procs: list[subprocess.Popen[bytes]]) -> tuple[dict[tuple[str, str, float], dict[str, Any]], list[str], str]:
    up_port, gw_port, ll_port = _port(), _port(), _port()
    upstream = f"http://127.0.0.1:{up_port}"
    procs.append(_spawn([PY, __file__, "_upstream", str(up_port)], up_port, "upstream"))
    _gateway_config(upstream, workdir / "gateway.toml")
    # What users run: the CLI command (it also tunes the collector for a long-lived proxy).
    parity, log = str(Path(PY).parent / "parity"), workdir / "gateway.log"
    procs.append(_spawn([parity, "gateway", "serve", "--config", str(workdir / "gateway.toml"),
                         "--port", str(gw_port)], gw_port, "gateway", {UPSTREAM_KEY_ENV: UPSTREAM_KEY}, log))
    targets = {"direct": f"{upstream}/v1/chat/completions",
               "parity": f"http://127.0.0.1:{gw_port}/v1/chat/completions"}
    results = {(mode, name, r): _measure(url, mode, r, args.duration)
               for mode in modes for r in rates for name, url in targets.items()}
    state = _gateway_state(log, {mode: _scrubbed(targets["parity"], mode) for mode in modes})
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
            results.update({(mode, "litellm", r): _measure(targets["litellm"], mode, r, args.duration)
                            for mode in modes for r in rates})
    return results, list(targets), state


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rates", default="500,1000")
    ap.add_argument("--modes", default="whole,stream", help="whole, stream, or both (comma-separated)")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: one or more of {', '.join(MODES)}")
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="parity-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        results, names, state = _run(args, rates, modes, workdir, procs)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    machine = (f"{os.cpu_count()} CPU cores shared by the upstream, the gateway or LiteLLM (never both at "
               f"once) and the load generator, each its own process; load average before the run "
               f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1 / 5 / 15 min)")
    report = "\n\n".join([f"Command: `{_command(args)}`", f"Machine: {machine}.", state,
                          _table(results, rates, modes, names)])
    print(report)
    if not args.no_write:
        _write(report)


TARGET_RATE, TARGET_ADDED_P99_MS = 1000.0, 2.0


def _row(mode: str, r: float, name: str, x: dict[str, Any], d: dict[str, Any]) -> str:
    p99 = f"{x['p99_ms']:.2f} [{x['p99_lo_ms']:.2f}, {x['p99_hi_ms']:.2f}]"
    ttft = f"{x['ttft_p50_ms']:.2f} / {x['ttft_p99_ms']:.2f}" if "ttft_p50_ms" in x else "—"
    if name == "direct":
        add50 = add99 = "—"
    else:  # the interval of a difference of two quantiles, each in its own 95% interval
        add50 = f"{x['p50_ms'] - d['p50_ms']:.2f}"
        add99 = (f"{x['p99_ms'] - d['p99_ms']:.2f} [{x['p99_lo_ms'] - d['p99_hi_ms']:.2f}, "
                 f"{x['p99_hi_ms'] - d['p99_lo_ms']:.2f}]")
    errs = f" ({', '.join(x['error_kinds'])})" if x["errors"] else ""
    return (f"| {mode} | {r:.0f} | {name} | {x['achieved_rps']:.0f} | {x['n']} | {x['ok']} / {x['errors']}{errs} | "
            f"{x['p50_ms']:.2f} | {p99} | {ttft} | {add50} | {add99} |")


def _verdict(results: dict[tuple[str, str, float], dict[str, Any]], mode: str, top: float, names: list[str]) -> str:
    d, p = results[(mode, "direct", top)], results[(mode, "parity", top)]
    add99 = p["p99_ms"] - d["p99_ms"]
    checks = [(f"added p99 ≤ {TARGET_ADDED_P99_MS:g} ms: {add99:.2f} ms", add99 <= TARGET_ADDED_P99_MS),
              (f"zero errors: {p['errors']} of {p['n']}", p["errors"] == 0),
              (f"achieved rate ≥ 95% of offered: {p['achieved_rps']:.0f}/{top:.0f}", p["achieved_rps"] >= 0.95 * top)]
    if "litellm" in names:
        ratio = (results[(mode, "litellm", top)]["p99_ms"] - d["p99_ms"]) / max(add99, 0.01)
        checks.append((f"≥10× lower added p99 than LiteLLM: {ratio:.1f}×", ratio >= 10))
    note = "" if top == TARGET_RATE else f" (the target is set at {TARGET_RATE:.0f} req/s, not measured here)"
    return (f"Target, {mode}, at {top:.0f} req/s{note}: "
            + "; ".join(f"{c} ({'met' if ok else 'MISSED'})" for c, ok in checks) + ".")


def _table(results: dict[tuple[str, str, float], dict[str, Any]], rates: list[float], modes: list[str],
           names: list[str]) -> str:
    lines = ["| mode | rate (req/s) | target | achieved (req/s) | sent | ok / errors | p50 ms | p99 ms [95% CI] | "
             "TTFT p50 / p99 ms | added p50 ms | added p99 ms [95% CI] |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in modes:
        for r in rates:
            d = results[(mode, "direct", r)]
            lines.extend(_row(mode, r, name, results[(mode, name, r)], d) for name in names)
            if "litellm" in names:
                p, ll = results[(mode, "parity", r)], results[(mode, "litellm", r)]
                ratio = (ll["p99_ms"] - d["p99_ms"]) / max(p["p99_ms"] - d["p99_ms"], 0.01)
                lines.append(f"| {mode} | {r:.0f} | **LiteLLM added p99 / parity added p99** "
                             f"| | | | | | | | **{ratio:.1f}×** |")
    top = TARGET_RATE if TARGET_RATE in rates else max(rates)
    return "\n".join(lines) + "\n\n" + "\n".join(_verdict(results, m, top, names) for m in modes)


def _command(args: argparse.Namespace) -> str:
    cmd = f".venv/bin/python bench/gateway_overhead.py --duration {args.duration:g} --rates {args.rates}"
    cmd += f" --modes {args.modes}" if args.modes != "whole,stream" else ""
    return cmd + (" --no-litellm" if args.no_litellm else "")


LATEST = ("<!-- gateway_overhead:latest -->", "<!-- /gateway_overhead:latest -->")


def _write(report: str) -> None:
    """The newest figures go between the LATEST markers of docs/benchmarks.md's "Gateway overhead"
    section (at its top when there are none); older records below them are left as they are."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = (f"{LATEST[0]}\n### Newest: measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
             f"{report}\n{LATEST[1]}")
    if LATEST[0] in text and LATEST[1] in text:
        start, end = text.index(LATEST[0]), text.index(LATEST[1]) + len(LATEST[1])
        text = text[:start] + block + text[end:]
    elif "## Gateway overhead\n" in text:
        text = text.replace("## Gateway overhead\n", f"## Gateway overhead\n\n{block}\n", 1)
    else:
        text = text.rstrip("\n") + f"\n\n## Gateway overhead\n\n{block}\n"
    path.write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_upstream":
        import uvicorn

        uvicorn.run(upstream_app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False, lifespan="off")
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        import uvloop  # the gateway and the upstream run on it too: the generator stays cheap

        print(json.dumps(uvloop.run(load(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])))))
    else:
        main()

"""Processes of the gateway bench: ports, the upstream, the gateway, LiteLLM, and their checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from .mock import BENCH_KEY, ECHO, HEADER_SECRET, MODES, UPSTREAM_KEY, UPSTREAM_KEY_ENV

ROOT = Path(__file__).resolve().parent.parent.parent
PY = sys.executable
SCRIPT = ROOT / "bench" / "gateway_overhead.py"  # its _upstream and _load subcommands
LITELLM_VENV = ROOT / ".bench-venv-litellm"

# --pin: the proxy under test (the gateway or LiteLLM) on a core of its own, the upstream and the
# load generator on the others, so that the added latency is the proxy's and not the wait for a
# core the three processes share. Empty: no pinning (the scheduler places every process).
PINNED: dict[str, set[int]] = {}


def pin(enabled: bool) -> str:
    """Set the CPU sets (``--pin``) and say what they are, for the report."""
    cpus = sorted(os.sched_getaffinity(0))
    PINNED.clear()
    if not enabled:
        return "no pinning: the scheduler places every process on the shared cores"
    if len(cpus) < 2:
        raise SystemExit("--pin needs at least 2 CPUs")
    PINNED.update(proxy={cpus[-1]}, rest=set(cpus[:-1]))
    return (f"pinned: the proxy under test on CPU {cpus[-1]}, the upstream and the load generator on "
            f"CPU{'s' if len(cpus) > 2 else ''} {', '.join(map(str, cpus[:-1]))}")


def _affinity(role: str) -> Any:
    cpus = PINNED.get(role)
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
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


def spawn(args: list[str], port: int, what: str, env: dict[str, str] | None = None,
           log: Path | None = None, role: str = "rest") -> subprocess.Popen[bytes]:
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=out, preexec_fn=_affinity(role))
    wait_port(port, proc, what)
    return proc


def gateway_config(upstream: str, path: Path) -> None:
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


def gateway(upstream: str, gw_port: int, workdir: Path, src: Path | None = None,
            name: str = "gateway") -> subprocess.Popen[bytes]:
    """``parity gateway serve`` as users run it (the CLI also tunes the collector for a long-lived
    proxy), its log in ``workdir/<name>.log``; ``src``: import parity from this tree instead."""
    cfg = workdir / f"{name}.toml"
    gateway_config(upstream, cfg)
    env = {UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return spawn([str(Path(PY).parent / "parity"), "gateway", "serve", "--config", str(cfg), "--port", str(gw_port)],
                 gw_port, name, env, workdir / f"{name}.log", role="proxy")


def litellm(upstream: str, port: int, workdir: Path) -> subprocess.Popen[bytes] | None:
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
    return spawn([str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)], port,
                  "litellm", env, role="proxy")


def measure(url: str, mode: str, rate: float, duration: float) -> dict[str, Any]:
    out = subprocess.run([PY, str(SCRIPT), "_load", url, mode, str(rate), str(duration)], cwd=ROOT,
                         capture_output=True, text=True, check=True, preexec_fn=_affinity("rest"))
    return dict(json.loads(out.stdout))


def scrubbed(url: str, mode: str) -> bool:
    """The upstream reflects the secret header value: the gateway must answer with it masked."""
    body = {**MODES[mode], "messages": [{"role": "user", "content": ECHO.decode()}]}
    req = urllib.request.Request(url, json.dumps(body).encode(), {
        "content-type": "application/json", "authorization": f"Bearer {BENCH_KEY}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = resp.read()
    return HEADER_SECRET.encode() not in answer and b"***" in answer


def gateway_state(log: Path, scrub: dict[str, bool]) -> str:
    """What was on in the gateway, from its own log and the reflection check."""
    time.sleep(1.0)  # a stream's access-log line is written when it ends, just after the client's read
    text = log.read_text(errors="replace")
    lines = sum(1 for line in text.splitlines() if " event=request " in line)
    leaked = sum(text.count(s) for s in (UPSTREAM_KEY, HEADER_SECRET))
    checks = ", ".join(f"{m}: {'masked' if ok else 'NOT MASKED'}" for m, ok in scrub.items())
    # connections the gateway closed itself: the per-address cap (serve.py) and anything else it logged
    capped = text.count("wait for a request; closing")
    errors = sum(1 for line in text.splitlines() if "level=error" in line or "level=warning" in line)
    return (f"Gateway log: {capped} connections closed by the per-address cap (`max_connections_per_client`), "
            f"{errors} warning/error lines.\n\nGateway: `parity gateway serve` with its defaults "
            "(access log on for every request, kv, "
            f"to a file: {lines} `request` lines; secret values in the log: {leaked}); in-flight checks on: "
            "tool-call validation against the request's tools, the family-markup scan of the answer's "
            "text, secret scrubbing of answers (2 secrets: the upstream key from `api_key_env`, an "
            f"`x-provider-key` header value; the upstream made to reflect the header value -> {checks}).")

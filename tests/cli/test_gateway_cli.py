"""``parity gateway serve``: the start-up line and the access log, as JSON lines on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from helpers_proc import fake_server, parity_cmd

from parity.fake import free_port

PASSWORD = "pw-MARKER-in-url-8080"


def test_serve_logs_start_up_and_access_as_json(tmp_path: Path) -> None:
    with fake_server() as up:
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(f'[[endpoints]]\nname = "a"\nbase_url = "{up.replace("http://", f"http://u:{PASSWORD}@")}"\n'
                       'model = "m"\n[[models]]\nalias = "m"\nendpoints = ["a"]\n')
        port = free_port()
        proc = subprocess.Popen(parity_cmd("gateway", "serve", "-c", str(cfg), "--port", str(port),
                                           "--log-format", "json", "--access-log", "1"),
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                start_new_session=True, env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            r = httpx.post(f"{base}/v1/chat/completions", timeout=10,
                           json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    assert PASSWORD not in err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    start = next(e for e in events if e["event"] == "gateway.start")
    assert start["endpoints"] == [f"a={up.rsplit('/v1', 1)[0]}/v1#m"] and start["auth"] == "none"
    chat = [e for e in events if e["event"] == "request" and e["path"] == "/v1/chat/completions"]
    assert len(chat) == 1 and chat[0]["status"] == 200 and chat[0]["endpoint"] == "a"

"""``parity dashboard`` as a process, and the /dashboard mounts of ``gateway serve`` and ``watch``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from parity.cli.dashboard import alongside, mount_dashboard
from parity.cli.main import app
from parity.gateway import create_app, hash_key, parse_gateway_config
from parity.store import Store

from .serve import free_port, serving

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_parity_dashboard_serves_the_store_with_a_token(seeded_db: Path) -> None:
    port, token = free_port(), "cli-token-MARKER-5678"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-m", "parity.cli", "dashboard", "--db", str(seeded_db),
                             "--port", str(port), "--token-hash", hash_key(token)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(base + "/?range=90d", follow_redirects=False)
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout and proc.stdout.read()
                time.sleep(0.2)
        assert r.status_code == 303  # a token is configured
        ok = httpx.get(base + "/?range=90d", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "m0-p1" in ok.text and token not in ok.text
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert token not in out


def test_bad_token_hash_is_a_clear_error(seeded_db: Path) -> None:
    r = CliRunner().invoke(app, ["dashboard", "--db", str(seeded_db), "--token-hash", "plain-token"])
    assert r.exit_code == 2 and "sha256:" in r.output


def test_mounted_in_a_gateway_shows_its_live_admission(seeded_db: Path) -> None:
    store = Store(str(seeded_db))
    cfg = parse_gateway_config({"endpoints": [{"name": n, "base_url": f"http://{n}.test/v1", "model": "org/model-0"}
                                              for n in ("m0-p1", "m0-p2")],
                                "models": [{"alias": "m", "endpoints": ["m0-p1", "m0-p2"]}]})
    gateway = create_app(cfg, store=store)
    port = free_port()
    mount_dashboard(gateway, store, f"http://127.0.0.1:{port}", cfg)
    try:
        with serving(gateway, port=port) as base:
            assert httpx.get(base + "/healthz").status_code == 200  # the gateway still answers
            html = httpx.get(base + "/dashboard/?range=90d").text
    finally:
        store.close()
    assert html.count('<span class="admission admitted">admitted</span>') == 4  # overview rows and alias "m"
    assert 'alias-name">m</span>' in html and ">2 of 2<" in html
    assert 'href="/dashboard/endpoints/m0-p1' in html


def test_gateway_config_that_cannot_be_read_is_a_clear_error(seeded_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "gateway.toml"
    bad.write_text('[[models]]\nalias = "m"\nendpoints = ["nowhere"]\n')
    r = CliRunner().invoke(app, ["dashboard", "--db", str(seeded_db), "--gateway-config", str(bad)])
    assert r.exit_code == 2 and "endpoints" in r.output and "Traceback" not in r.output


def test_served_alongside_the_watch_loop(seeded_db: Path) -> None:
    store = Store(str(seeded_db))
    port = free_port()
    seen: list[int] = []

    async def watch_loop() -> None:  # stands in for the watch's main coroutine
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    r = await client.get(f"http://127.0.0.1:{port}/dashboard/runs?range=90d")
                    seen.append(r.status_code)
                    return
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)

    try:
        asyncio.run(alongside(watch_loop(), store, port))
    finally:
        store.close()
    assert seen == [200]
    with pytest.raises(httpx.ConnectError):  # the server stopped with the loop
        httpx.get(f"http://127.0.0.1:{port}/dashboard/")

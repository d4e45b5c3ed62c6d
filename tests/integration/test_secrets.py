"""A key set in the environment never reaches the store, the reports or the logs,
even when the endpoint echoes it back in its answers."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from helpers import healthy_script, make_config, weather_cases
from helpers_proc import fake_server, parity_cmd, write_config

from parity.case import Case
from parity.fake import FakeEndpoint
from parity.report import results_json, write_report
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.suite import ToolcallSuite

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

KEY = "sk-live-0123456789abcdefSECRET"
HEADER = "pk-provider-HEADERSECRET-42"
PASSWORD = "pw-URLSECRET-7"


def test_key_never_leaks(tmp_path: Path) -> None:
    env = {**os.environ, "PARITY_TEST_KEY": KEY}
    with fake_server("--echo-headers") as url:
        # a provider key in a header, a password in the URL: secrets as much as the API key
        url = url.replace("http://", f"http://user:{PASSWORD}@")
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"),
                           extra=f'api_key_env = "PARITY_TEST_KEY"\nheaders = {{ x-provider-key = "{HEADER}" }}')
        db = tmp_path / "parity.db"
        verify = subprocess.run(
            parity_cmd("verify", "--config", str(cfg), "--db", str(db), "--limit", "20",
                       "--json", str(tmp_path / "out.json"), "--report", str(tmp_path / "report")),
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert verify.returncode == 0, verify.stderr
        run_id = verify.stderr.split("run id: ")[1].split()[0]
        report = subprocess.run(parity_cmd("report", run_id, "--db", str(db), "--out", str(tmp_path / "r2")),
                                capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert report.returncode == 0, report.stderr
    # The endpoint really did echo the key: redaction, not luck, keeps it out.
    assert "***" in db.read_bytes().decode("utf-8", "replace")
    outputs = [verify.stdout, verify.stderr, report.stdout, report.stderr]
    markers = [KEY, HEADER, PASSWORD]
    assert [m for m in markers for o in outputs if m in o] == []
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "parity.toml"]
    assert any(p.name == "report.html" for p in files) and any(p.suffix == ".db" for p in files)
    leaked = [(str(p), m) for p in files for m in markers if m.encode() in p.read_bytes()]
    assert leaked == []


def test_missing_key_variable_is_a_clear_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "parity.toml", "http://127.0.0.1:9/v1", ("ref", "cand"),
                       extra='api_key_env = "PARITY_UNSET_VARIABLE"')
    env = {k: v for k, v in os.environ.items() if k != "PARITY_UNSET_VARIABLE"}
    r = subprocess.run(parity_cmd("verify", "--config", str(cfg)), capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert "PARITY_UNSET_VARIABLE" in r.stderr and "not set" in r.stderr and "Traceback" not in r.stderr


# -- every configured secret, echoed every way an endpoint can, in SQLite and PostgreSQL ------

def _markers() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"key": f"sk-KEYMARK{tag}-0123", "header": f'hv-HDRMARK{tag}-"q"\\b-4567',
            "password": f"pw-PWMARK{tag}"}


def _leaky(inner: FakeEndpoint) -> Any:
    """Echoes the request's headers in JSON errors (cut at the excerpt length), HTML pages,
    answers (content, nested fields) and streams."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        raw = b""
        while True:
            msg = await receive()
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        text = str(orjson.loads(raw)["messages"][-1]["content"])
        n = int(text.rsplit(" ", 1)[-1].rstrip("?."))
        body: bytes | None = None
        if n % 4 == 1:  # the secret straddles the 300-byte excerpt cut for some n
            body = orjson.dumps({"error": {"message": "x" * (240 + n % 40) + f" you sent {headers}"}})
            status, ctype = 401, b"application/json"
        elif n % 4 == 2:
            body = f"<html>bad gateway; headers: {headers!r}</html>".encode()
            status, ctype = 200, b"text/html"
        if body is not None:
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        await inner(scope, replay, send)

    return app


def _cases(n: int) -> list[Case]:
    return [c.model_copy(update={"body": {**c.body, "stream": i % 3 == 0}}) for i, c in enumerate(weather_cases(n))]


async def _run_leaky(store: Store, m: dict[str, str], out: Path) -> str:
    cfg = make_config("ref", "cand", max_attempts=1, headers={"x-provider-key": m["header"]})
    cfg.endpoints[1] = cfg.endpoints[1].model_copy(
        update={"base_url": f"http://user:{m['password']}@cand.test/v1"})
    apps = {n: _leaky(FakeEndpoint(healthy_script, echo_headers=True)) for n in ("ref", "cand")}
    runner = Runner(cfg, [ToolcallSuite(_cases(24))], store, keys={"ref": m["key"], "cand": m["key"]},
                    transport=lambda ep: httpx.ASGITransport(apps[ep.name]))
    result = await runner.run()
    stored = store.exchanges(result.run.id)
    assert any("***" in (x.raw_excerpt or "") for x in stored)  # echoed, and masked
    assert any(x.ok and "***" in str(x.response) for x in stored)
    assert any(x.streamed and x.ok for x in stored)
    paths = write_report(result.run, result.verdicts, out)
    (out / "results.json").write_bytes(orjson.dumps(results_json(result.run, result.verdicts)))
    assert paths.html.exists() and paths.markdown.exists()
    return result.run.id


def _leaks(text: str, m: dict[str, str]) -> list[str]:
    return [name for name, v in m.items() if v.split("-")[1] in text]


async def test_echoed_secrets_never_reach_sqlite_or_reports(tmp_path: Path) -> None:
    m = _markers()
    store = Store(str(tmp_path / "p.db"))
    await _run_leaky(store, m, tmp_path / "report")
    store.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # noqa: ASYNC240 (the run is over)
    assert {p.suffix for p in files} >= {".db", ".html", ".md", ".json"}
    assert {str(p): _leaks(p.read_bytes().decode("utf-8", "replace"), m) for p in files} == {
        str(p): [] for p in files}


@pytest.mark.postgres
async def test_echoed_secrets_never_reach_postgresql(tmp_path: Path) -> None:
    m = _markers()
    try:
        store = Store(PG_URL)
    except Exception:
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (trust auth, database 'test')")
    try:
        run_id = await _run_leaky(store, m, tmp_path / "report")
    finally:
        store.close()
    argv = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--data-only", "test"]
    dump = subprocess.run(argv, capture_output=True, text=True, timeout=120,  # noqa: ASYNC221 (run is over)
                          check=True).stdout
    assert run_id in dump and "***" in dump
    assert _leaks(dump, m) == []

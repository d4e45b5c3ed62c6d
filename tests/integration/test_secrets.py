"""A key set in the environment never reaches the store, the reports or the logs,
even when the endpoint echoes it back in its answers."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers_proc import fake_server, parity_cmd, write_config

KEY = "sk-live-0123456789abcdefSECRET"


def test_key_never_leaks(tmp_path: Path) -> None:
    env = {**os.environ, "PARITY_TEST_KEY": KEY}
    with fake_server("--echo-headers") as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"),
                           extra='api_key_env = "PARITY_TEST_KEY"')
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
    assert all(KEY not in o for o in outputs)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "parity.toml"]
    assert any(p.name == "report.html" for p in files) and any(p.suffix == ".db" for p in files)
    leaked = [str(p) for p in files if KEY.encode() in p.read_bytes()]
    assert leaked == []


def test_missing_key_variable_is_a_clear_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "parity.toml", "http://127.0.0.1:9/v1", ("ref", "cand"),
                       extra='api_key_env = "PARITY_UNSET_VARIABLE"')
    env = {k: v for k, v in os.environ.items() if k != "PARITY_UNSET_VARIABLE"}
    r = subprocess.run(parity_cmd("verify", "--config", str(cfg)), capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert "PARITY_UNSET_VARIABLE" in r.stderr and "not set" in r.stderr and "Traceback" not in r.stderr

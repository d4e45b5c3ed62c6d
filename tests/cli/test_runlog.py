"""``parity verify --log-format json``: the run as events, one JSON object per line, no key."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers_proc import fake_server, parity_cmd

from parity.fake import free_port

KEY = "sk-MARKER-runlog-31337"


def test_verify_events_for_an_unreachable_candidate(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with fake_server() as up:
        cfg = tmp_path / "parity.toml"
        cfg.write_text(f'[[endpoints]]\nname = "ref"\nbase_url = "{up}"\nmodel = "m"\nreference = true\n'
                       f'api_key_env = "MARKER_KEY"\n'
                       f'[[endpoints]]\nname = "cand"\nbase_url = "{down}"\nmodel = "m"\napi_key_env = "MARKER_KEY"\n')
        r = subprocess.run(parity_cmd("verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"), "--limit", "3",
                                      "--log-format", "json"),
                           capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env={**os.environ, "MARKER_KEY": KEY})
    assert r.returncode == 4, r.stderr
    assert KEY not in r.stderr and KEY not in r.stdout
    events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith('{"ts"')]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run.start" and kinds[-1] == "run.end"
    failed = [e for e in events if e["event"] == "exchange.failed"]
    assert len(failed) == 3 and {(e["endpoint"], e["kind"], e["status"]) for e in failed} == {
        ("cand", "transport", "connect_error")}
    verdicts = {e["endpoint"]: e for e in events if e["event"] == "verdict"}
    assert verdicts["cand"]["verdict"] == "error" and verdicts["cand"]["reason"].startswith("error: unreachable")
    end = events[-1]
    assert end["exit_code"] == 4 and end["transport_errors"] == 3 and end["outcomes"] == {"reference": 1, "error": 1}

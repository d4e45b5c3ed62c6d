"""Fault flags and configuration: rates, validation, and the proxy as its own process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from parity.testbed._procs import free_port, spawn, stop, wait_all_healthy
from parity.testbed.faults import FaultConfig, FaultMode, FaultSpec, parse_fault_flags, proxy_argv


def rates(flags: list[str]) -> dict[str, float]:
    return {s.mode.value: round(s.rate, 6) for s in parse_fault_flags(flags)}


def test_flags_share_what_explicit_rates_leave() -> None:
    assert rates(["invalid_json"]) == {"invalid_json": 1.0}
    assert rates(["invalid_json", "unknown_name"]) == {"invalid_json": 0.5, "unknown_name": 0.5}
    assert rates(["invalid_json:0.2", "markup_leak"]) == {"invalid_json": 0.2, "markup_leak": 0.8}
    assert rates(["foreign_script:0"]) == {"foreign_script": 0.0}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["bogus"], "unknown fault mode 'bogus' .valid: invalid_json, unknown_name"),
        (["invalid_json:x"], "not a number"),
        (["invalid_json", "invalid_json:0.1"], "given twice"),
        (["invalid_json:1", "markup_leak"], "leave nothing"),
    ],
)
def test_bad_flags_are_explained(flags: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_flags(flags)


def test_rates_may_not_exceed_one() -> None:
    specs = [
        FaultSpec(mode=FaultMode.INVALID_JSON, rate=0.7),
        FaultSpec(mode=FaultMode.UNKNOWN_NAME, rate=0.4),
    ]
    with pytest.raises(ValidationError, match="more than 1"):
        FaultConfig(upstream="http://x", faults=specs)
    with pytest.raises(ValidationError):
        FaultSpec(mode=FaultMode.INVALID_JSON, rate=1.5)


def test_proxy_runs_as_its_own_process(tmp_path: Path) -> None:
    config = FaultConfig(
        upstream=f"http://127.0.0.1:{free_port()}", faults=parse_fault_flags(["invalid_json:0.5"])
    )
    config_path = tmp_path / "faults.json"
    config_path.write_text(config.model_dump_json())
    port = free_port()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *sys.path])}
    log = tmp_path / "proxy.log"
    pid = spawn(proxy_argv(config_path, "127.0.0.1", port), log, env)
    try:
        url = f"http://127.0.0.1:{port}/health"
        wait_all_healthy([("faults", url, pid, log, 0.0)], timeout_s=30)
        assert httpx.get(url).json()["faults"] == [{"mode": "invalid_json", "rate": 0.5}]
        # The upstream is down: the proxy says so with a 502 instead of a bare 500.
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={}, timeout=10)
        assert answer.status_code == 502
        assert "ConnectError" in answer.json()["error"]["message"]
    finally:
        assert stop(pid)

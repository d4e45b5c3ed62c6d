"""Exit codes as a contract (README table), end to end against the fake endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers_proc import fake_server, parity_cmd, sigint_default, wait_in_flight, write_config
from typer.testing import CliRunner

from parity.cli._exit import ExitCode, verdict_exit
from parity.cli.main import app
from parity.fake import free_port
from parity.verdict import Outcome, Verdict


def _v(endpoint: str, outcome: Outcome) -> Verdict:
    return Verdict(endpoint=endpoint, suite="toolcall", verdict=outcome, test="t", alpha=0.05, requests=1)


@pytest.mark.parametrize(("outcomes", "strict", "code"), [
    ([Outcome.REFERENCE, Outcome.PASS], False, ExitCode.OK),
    ([Outcome.REFERENCE, Outcome.INCONCLUSIVE], False, ExitCode.OK),
    ([Outcome.REFERENCE, Outcome.INCONCLUSIVE], True, ExitCode.INCONCLUSIVE),
    ([Outcome.REFERENCE, Outcome.PASS, Outcome.FAIL], False, ExitCode.FAIL),
    ([Outcome.REFERENCE, Outcome.ERROR, Outcome.INCONCLUSIVE], True, ExitCode.ERROR),
    ([Outcome.REFERENCE, Outcome.ERROR, Outcome.FAIL], True, ExitCode.FAIL),
])
def test_verdict_exit_precedence(outcomes: list[Outcome], strict: bool, code: ExitCode) -> None:
    assert verdict_exit([_v(f"e{i}", o) for i, o in enumerate(outcomes)], strict=strict) is code


def _verify(tmp_path: Path, cfg: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    out = tmp_path / "results.json"
    r = CliRunner().invoke(app, ["verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"), "--limit", "4",
                                 "--json", str(out), *extra])
    return r.exit_code, json.loads(out.read_text()) if out.exists() else {}, r.output


def _outcomes(results: dict[str, object]) -> dict[str, str]:
    rows = results["verdicts"]
    assert isinstance(rows, list)
    return {row["endpoint"]: row["verdict"] for row in rows}


def _two(tmp_path: Path, ref_url: str, cand_url: str) -> Path:
    cfg = tmp_path / "parity.toml"
    cfg.write_text(f'[[endpoints]]\nname = "ref"\nbase_url = "{ref_url}"\nmodel = "m"\nreference = true\n'
                   f'[[endpoints]]\nname = "cand"\nbase_url = "{cand_url}"\nmodel = "m"\n')
    return cfg


def test_reference_unreachable_exits_4_with_error_not_inconclusive(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with fake_server() as up:
        code, results, output = _verify(tmp_path, _two(tmp_path, down, up))
    assert code == ExitCode.ERROR, output
    assert _outcomes(results) == {"cand": "error"}
    (row,) = results["verdicts"]  # type: ignore[misc]
    assert "reference 'ref' is unreachable" in row["reasons"][0]
    assert row["p_value"] is None


def test_candidate_unreachable_is_an_error_outcome_not_a_fail(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with fake_server() as up:
        code, results, output = _verify(tmp_path, _two(tmp_path, up, down))
    assert code == ExitCode.ERROR, output
    assert _outcomes(results) == {"cand": "error"}
    (row,) = results["verdicts"]  # type: ignore[misc]
    assert row["reasons"][0].startswith("error: unreachable -- 4/4 requests were not served (connect_error x4)")


def test_inconclusive_exits_0_and_3_under_strict(tmp_path: Path) -> None:
    with fake_server() as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        code, results, _ = _verify(tmp_path, cfg)
        assert _outcomes(results) == {"cand": "inconclusive"}  # four cases: too few to show equivalence
        assert code == ExitCode.OK
        code, _, _ = _verify(tmp_path, cfg, "--strict")  # the same run, resumed: nothing re-sent
    assert code == ExitCode.INCONCLUSIVE


def test_fail_exits_1_without_strict(tmp_path: Path) -> None:
    with fake_server() as good, fake_server("--script", "broken") as broken:
        cfg = _two(tmp_path, good, broken)
        out = tmp_path / "r.json"
        r = CliRunner().invoke(app, ["verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"),
                                     "--limit", "40", "--json", str(out)])
    assert _outcomes(json.loads(out.read_text())) == {"cand": "fail"}
    assert r.exit_code == ExitCode.FAIL, r.output


def test_usage_and_config_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[endpoints]]\nname = 3\n")
    assert CliRunner().invoke(app, ["verify", "-c", str(bad)]).exit_code == ExitCode.USAGE
    assert CliRunner().invoke(app, ["verify", "--no-such-option"]).exit_code == ExitCode.USAGE


def test_json_dash_writes_to_stdout(tmp_path: Path) -> None:
    with fake_server() as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        r = subprocess.run(parity_cmd("verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"), "--limit", "2",
                                      "--json", "-"), capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdicts"][0]["endpoint"] == "cand"
    assert not (tmp_path / "-").exists()


def test_interrupt_exits_130(tmp_path: Path) -> None:
    with fake_server("--delay", "5") as url:  # short: the server drains it on exit
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        proc = subprocess.Popen(parity_cmd("verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"),
                                           "--limit", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=tmp_path, start_new_session=True, preexec_fn=sigint_default)
        try:
            wait_in_flight(url, lambda n: n > 0)  # interrupted with requests under way
            os.kill(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err

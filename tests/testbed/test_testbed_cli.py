"""The CLI is thin: it parses, delegates and renders; errors are clear and exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from parity.cli.testbed import app

runner = CliRunner()


def test_unknown_variant(tmp_path: Path, fake_cache: Path) -> None:
    result = runner.invoke(
        app,
        [
            "up",
            "--variants",
            "reference,nope",
            "--run-dir",
            str(tmp_path),
            "--cache-dir",
            str(fake_cache),
        ],
    )
    assert result.exit_code == 2
    assert "unknown variant(s): nope" in result.output
    assert "valid: reference, replica, q8, q4_0, q3_k_m, q2, template, faults" in result.output


def test_bad_fault_flag(tmp_path: Path, fake_cache: Path) -> None:
    result = runner.invoke(
        app,
        ["up", "--fault", "bogus:0.1", "--run-dir", str(tmp_path), "--cache-dir", str(fake_cache)],
    )
    assert result.exit_code == 2
    assert "unknown fault mode 'bogus'" in result.output


def test_status_when_down(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--run-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "testbed is down" in result.output


def test_up_status_config_down(tmp_path: Path, fake_cache: Path) -> None:
    where = ["--run-dir", str(tmp_path / "run"), "--cache-dir", str(fake_cache)]
    try:
        up = runner.invoke(
            app, ["up", "--variants", "reference,faults", "--fault", "markup_leak", *where]
        )
        assert up.exit_code == 0, up.output
        status = runner.invoke(app, ["status", "--json", *where])
        assert status.output.count('"healthy": true') == 2
        out = tmp_path / "p.toml"
        config = runner.invoke(app, ["config", "--out", str(out), *where])
        assert config.exit_code == 0
        assert "markup_leak:1" in out.read_text()
    finally:
        down = runner.invoke(app, ["down", *where])
    assert "stopped 2 process(es)" in down.output


def test_config_without_reference(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["config", "--run-dir", str(tmp_path), "--out", str(tmp_path / "p.toml")]
    )
    assert result.exit_code == 2
    assert "reference is not running" in result.output

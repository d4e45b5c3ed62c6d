"""``parity runs`` and ``parity report`` read a store; they never create one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app


def test_runs_without_a_store_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["runs"])
    assert r.exit_code == 0 and "no runs: no store at .parity/parity.db" in r.output
    r = CliRunner().invoke(app, ["runs", "--db", str(tmp_path / "elsewhere" / "p.db")])
    assert r.exit_code == 0 and "no store" in r.output
    r = CliRunner().invoke(app, ["report", "run-x", "--db", f"sqlite:///{tmp_path / 'q.db'}"])
    assert r.exit_code == 2 and "no store at" in r.output
    assert list(tmp_path.iterdir()) == []

"""A missing optional package is a clear message and exit 2, never a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app


def test_bfcl_without_its_data_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "bfcl_eval" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    cfg = tmp_path / "parity.toml"
    cfg.write_text('[[endpoints]]\nname = "ref"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nreference = true\n')
    r = CliRunner().invoke(app, ["verify", "-c", str(cfg), "--dataset", "bfcl:simple", "--db", str(tmp_path / "p.db")])
    assert r.exit_code == 2, r.exception
    assert "parity[bfcl]" in r.output and "Traceback" not in r.output

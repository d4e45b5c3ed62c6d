"""``parity watch --once`` end to end: fake endpoints served on 127.0.0.1, a webhook receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.fake import serve
from parity.store import Store
from parity.watch import WatchStore

from .watch_fakes import Served, fake


def _toml(ref: str, cand: str) -> str:
    return f"""
[[endpoints]]
name = "ref"
base_url = "{ref}/v1"
model = "m"
reference = true

[[endpoints]]
name = "cand"
base_url = "{cand}/v1"
model = "m"

[watch]
arl_days = 30

[watch.sentinel]
# a day: the two --once runs below must fall in the same period (with 5 minutes, a run straddling
# a period boundary made a third tick due: seen once under load)
period_minutes = 1440
prompts = 2
"""


def test_once_runs_the_due_ticks_and_prints_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARITY_WATCH_WEBHOOK", raising=False)
    with serve(fake(Served(name="r"))) as ref, serve(fake(Served(name="c"))) as cand:
        cfg = tmp_path / "parity.toml"
        cfg.write_text(_toml(ref, cand), encoding="utf-8")
        db = str(tmp_path / "w.db")
        first = CliRunner().invoke(app, ["watch", "--config", str(cfg), "--db", db, "--once"])
        assert first.exit_code == 0, first.output
        again = CliRunner().invoke(app, ["watch", "--config", str(cfg), "--db", db, "--once"])
        assert again.exit_code == 0, again.output
    ws = WatchStore(Store(db))
    assert {(s.endpoint, s.state.value) for s in ws.states()} == {("ref", "healthy"), ("cand", "healthy")}
    assert len(ws.ticks()) == 2  # the second run found the due ticks recorded
    assert "healthy" in first.output


def test_config_errors_are_reported_clearly(tmp_path: Path) -> None:
    cfg = tmp_path / "parity.toml"
    cfg.write_text(_toml("http://127.0.0.1:1", "http://127.0.0.1:2") + "bogus = 1\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["watch", "--config", str(cfg), "--db", str(tmp_path / "w.db"), "--once"])
    assert out.exit_code == 2
    assert "watch.sentinel.bogus: unknown field" in out.output

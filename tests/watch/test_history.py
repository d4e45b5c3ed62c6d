"""``parity history`` over a real SQLite store written by the real watch loop (fake endpoints)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.store import Store
from parity.verdict import Estimate, EstimateKind, Outcome, Verdict
from parity.watch._history import History, load_history, parse_since, series, sparkline

from .history_store import SECRET, fill


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("history") / "w.db")
    asyncio.run(fill(path))
    store = Store(path)
    run = store.create_run(fingerprint="f", parity_version="0", seed=0, reference="ref", suites=["toolcall"],
                           datasets={}, config={"note": "config is never printed by history"})
    store.save_verdicts(run.id, [Verdict(
        endpoint="cand", suite="toolcall", verdict=Outcome.PASS, test="t", alpha=0.05, requests=40,
        e_value=2.5, metrics={"valid_json": Estimate(value=0.975, kind=EstimateKind.PROPORTION, n=40)})])
    store.close()
    return path


def _cli(*args: str) -> tuple[int, str]:
    out = CliRunner().invoke(app, ["history", *args])
    return out.exit_code, out.output


def test_prints_trends_transitions_ticks_and_runs(db: str) -> None:
    code, text = _cli("--db", db, "--since", "2026-02-28")
    assert code == 0, text
    for piece in ("trends", "transitions", "healthy → suspect", "→ changed", "ticks (20 newest",
                  "suite runs", "toolcall", "valid_json 0.975", "statistic (log)", "mean g"):
        assert piece in text, piece
    assert any(ch in text for ch in "▁▂▃▄▅▆▇█")
    assert "config is never printed" not in text


def test_filters_by_endpoint_stream_and_metric(db: str) -> None:
    code, text = _cli("ref", "--db", db, "--since", "2026-02-28", "--suite", "sentinel-reference",
                      "--metric", "statistic", "--limit", "0")
    assert code == 0, text
    assert "cand" not in text and "mean g" not in text.split("ticks (")[0] and "suite runs" not in text
    code, js = _cli("cand", "--db", db, "--since", "2026-02-28", "--json")
    hist = History.model_validate(orjson.loads(js))
    assert hist.ticks and {t.endpoint for t in hist.ticks} == {"cand"}
    assert {t.stream for t in hist.ticks} == {"sentinel"}
    assert [t.to_state.value for t in hist.transitions][-1] == "changed"
    assert [r.suite for r in hist.runs] == ["toolcall"]


def test_since_limits_the_period(db: str) -> None:
    store = Store(db)
    everything = load_history(store)
    half = everything.ticks[len(everything.ticks) // 2].scheduled_at
    later = load_history(store, since=half)
    store.close()
    assert 0 < len(later.ticks) < len(everything.ticks)
    assert all(t.scheduled_at >= half for t in later.ticks)
    code, text = _cli("--db", db, "--suite", "sentinel")  # default 7 days: March is long past
    assert code == 0 and "nothing stored" in text


def test_no_secret_is_printed(db: str) -> None:
    for extra in ((), ("--json",)):
        code, text = _cli("--db", db, "--since", "2026-02-28", "--limit", "0", *extra)
        assert code == 0 and SECRET not in text


def test_bad_input_is_a_clear_error(db: str, tmp_path: Path) -> None:
    code, text = _cli("--db", db, "--since", "last tuesday")
    assert code == 2 and "--since" in text and "Traceback" not in text
    code, text = _cli("--db", str(tmp_path / "none.db"))
    assert code == 2 and "no store" in text and not (tmp_path / "none.db").exists()


def test_series_and_sparkline() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(range(1000), width=10)) == 10
    assert sparkline([1, 10, 100, 1000], log=True) == "▁▃▆█"
    assert sparkline([0, 0, 9, 0], width=2, how="max") == "▁█"
    now = datetime(2026, 3, 8, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-03-02", now) == datetime(2026, 3, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="--since"):
        parse_since("soon", now)


def test_series_groups_by_endpoint_stream_and_metric(db: str) -> None:
    store = Store(db)
    hist = load_history(store, endpoint="cand")
    store.close()
    got = series(hist, ["statistic", "valid_json"])
    assert [(s.endpoint, s.stream, s.metric, s.kind) for s in got] == [
        ("cand", "sentinel", "statistic", "tick"), ("cand", "toolcall", "valid_json", "run")]
    stat = got[0]
    assert len(stat.points) == len(hist.ticks)
    assert [p[0] for p in stat.points] == sorted(p[0] for p in stat.points)
    assert stat.state is not None and stat.state.value == "changed"


def test_mean_observation_says_whether_it_is_g_or_an_e_value(tmp_path: Path) -> None:
    from parity.watch._store import TickRecord, WatchStore

    path = str(tmp_path / "w.db")
    store = Store(path)
    ws, t0 = WatchStore(store), datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(6):  # `controls` changed from 1 to 10 after three ticks
        k = 1 if i < 3 else 10
        ws.record_tick(TickRecord(id=f"t{i}", endpoint="[red]cand", stream="sentinel", index=i,
                                  scheduled_at=t0 + timedelta(minutes=5 * i), status="done", statistic=1.0,
                                  observations=[0.25, -0.25] if k == 1 else [0.0, 2.0, 11.0], controls=k))
    hist = load_history(store)
    store.close()
    means = series(hist, ["mean_observation"])
    assert [(s.label, s.values) for s in means] == [("mean g", [0.0] * 3),
                                                    ("mean e-value (10 controls)", [13 / 3] * 3)]
    code, text = _cli("--db", path, "--since", "2026-02-28")
    assert code == 0, text
    trends = text.split("ticks (")[0]
    assert "mean g" in trends and "mean e-value (10 controls)" in trends and "mean_observation" not in trends
    assert "mean e-value (10 controls) 4.33" in text and "mean g 0" in text  # the ticks, each its own
    assert "[red]cand" in text  # an endpoint's name is printed as it is, never read as markup

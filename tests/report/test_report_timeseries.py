"""The report's watch section: time series read from a store the real watch loop wrote."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from watch.history_store import SECRET, fill

from parity.report import Results, results_json, watch_for_run, watch_history, write_report
from parity.report._timeseries import MAX_POINTS, WatchMark, WatchPoint, WatchStream, timeseries_svg
from parity.store import Store
from parity.verdict import Outcome, Verdict

from .report_samples import SCRIPT, make_run


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("watchreport") / "w.db")
    asyncio.run(fill(path))
    return path


def _verdicts() -> list[Verdict]:
    return [Verdict(endpoint=e, suite="toolcall", verdict=o, test="t", alpha=0.05, requests=10)
            for e, o in (("ref", Outcome.REFERENCE), ("cand", Outcome.PASS))]


def test_report_draws_each_endpoints_statistic_levels_and_transitions(db: str, tmp_path: Path) -> None:
    store = Store(db)
    watch = watch_for_run(store, "ref", _verdicts())
    store.close()
    assert watch is not None
    streams = {(s.endpoint, s.stream): s for s in watch.streams}
    assert set(streams) == {("ref", "sentinel-reference"), ("cand", "sentinel")}
    cand = streams[("cand", "sentinel")]
    assert cand.alarm == 200 and cand.warn == 20 and cand.state == "changed"
    assert [t.to_state for t in cand.transitions] == ["suspect", "changed"]
    assert streams[("ref", "sentinel-reference")].transitions == []

    paths = write_report(make_run(reference="ref"), _verdicts(), tmp_path / "out", watch)
    html = paths.html.read_text()
    assert 'id="watch"' in html and html.count('<svg class="watch"') == 2
    cand_svg = html[html.index('aria-labelledby="watch-cand-sentinel"'):]
    cand_svg = cand_svg[:cand_svg.index("</svg>")]
    points = re.search(r'<polyline points="([^"]+)"', cand_svg)
    assert points is not None and len(points.group(1).split()) == cand.ticks
    assert 'class="alarm"' in cand_svg and "alarm 200" in cand_svg and "suspect 20" in cand_svg
    assert cand_svg.count('class="mark"') == 2 and "suspect → changed" in cand_svg
    md = paths.markdown.read_text()
    assert "## Watch history" in md
    row = next(line for line in md.splitlines() if line.startswith("| cand | sentinel |"))
    assert "changed" in row and "200" in row
    data = json.loads(paths.json.read_text())
    model = Results.model_validate(data)
    assert model.watch is not None and len(model.watch.streams) == 2
    assert SECRET not in html + md + paths.json.read_text()


def test_no_section_without_watch_history(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "empty.db"))
    assert watch_history(store, ["ref", "cand"]) is None
    store.close()
    paths = write_report(make_run(reference="ref"), _verdicts(), tmp_path / "out")
    assert 'id="watch"' not in paths.html.read_text()
    assert "Watch history" not in paths.markdown.read_text()
    assert "watch" not in results_json(make_run(reference="ref"), _verdicts())


def test_long_histories_are_thinned_keeping_the_peaks(db: str) -> None:
    from parity.report._timeseries import _thin

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    pts = [WatchPoint(at=t0 + timedelta(minutes=i), statistic=1.0 + (i == 777) * 5000, state="healthy")
           for i in range(3000)]
    thin = _thin(pts)
    assert len(thin) == MAX_POINTS and max(p.statistic for p in thin) == 5001.0
    assert [p.at for p in thin] == sorted(p.at for p in thin) and thin[-1].at == pts[-1].at


def test_svg_escapes_names() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    s = WatchStream(endpoint=SCRIPT, stream="sentinel", ticks=2, skipped=0, state="changed", alarm=8640.0,
                    warn=288.0, points=[WatchPoint(at=t0, statistic=1.0, state="healthy"),
                                        WatchPoint(at=t0 + timedelta(hours=1), statistic=9000.0,
                                                   state="changed")],
                    transitions=[WatchMark(at=t0 + timedelta(hours=1), from_state="healthy",
                                           to_state="changed", statistic=9000.0, id=f"{SCRIPT}/sentinel/1")])
    svg = str(timeseries_svg(s, t0, t0 + timedelta(hours=1)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg

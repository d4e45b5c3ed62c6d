"""Write a run's three reports side by side: HTML and Markdown for people, JSON for machines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from parity.store import RunRecord
from parity.verdict import Verdict

from ._html import render_html
from ._json import results_json
from ._markdown import render_markdown
from ._timeseries import WatchHistory


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    markdown: Path
    json: Path


def write_report(run: RunRecord, verdicts: list[Verdict], out_dir: Path,
                 watch: WatchHistory | None = None) -> ReportPaths:
    """Write ``report.html``, ``report.md`` and ``results.json`` into ``out_dir`` (created if missing);
    ``watch``: the watch's history of the run's endpoints (:func:`watch_history`), if any."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(out_dir / "report.html", out_dir / "report.md", out_dir / "results.json")
    paths.html.write_text(render_html(run, verdicts, watch), encoding="utf-8")
    paths.markdown.write_text(render_markdown(run, verdicts, watch), encoding="utf-8")
    data = orjson.dumps(results_json(run, verdicts, watch), option=orjson.OPT_INDENT_2)
    paths.json.write_bytes(data + b"\n")
    return paths

"""Reports: JSON for machines, Markdown and a self-contained HTML page for people."""

from ._examples import evidence_text
from ._format import is_proportion
from ._html import render_html
from ._json import SCHEMA_VERSION, Results, ScoreResults, results_json, results_model, verdict_dict
from ._markdown import render_markdown
from ._render import ReportPaths, write_report
from ._timeseries import WatchHistory, watch_for_run, watch_history

__all__ = [
    "SCHEMA_VERSION",
    "ReportPaths",
    "Results",
    "ScoreResults",
    "WatchHistory",
    "evidence_text",
    "is_proportion",
    "render_html",
    "render_markdown",
    "results_json",
    "results_model",
    "verdict_dict",
    "watch_for_run",
    "watch_history",
    "write_report",
]

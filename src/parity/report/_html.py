"""The HTML report: one self-contained page, inline CSS and SVG, no scripts, everything escaped."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from parity.store import RunRecord
from parity.verdict import Outcome, ProbeOutcome, Verdict

from ._choice_view import choice_view
from ._format import HOW_TO_READ, HOW_TO_READ_INTRO, REFERENCE_NOTE
from ._svg import forest_svg
from ._timeseries import WatchHistory, timeseries_svg
from ._view import build_view


@cache
def _env() -> Environment:
    # autoescape=True for every template: excerpts come from untrusted endpoints.
    return Environment(
        loader=PackageLoader("parity.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@cache
def _css() -> str:
    return files("parity.report").joinpath("templates", "report.css").read_text(encoding="utf-8")


def render_html(run: RunRecord, verdicts: list[Verdict], watch: WatchHistory | None = None) -> str:
    """The page; ``watch``: the watch's history of the run's endpoints, drawn as time series."""
    view = build_view(run, verdicts)
    return _env().get_template("report.html.j2").render(
        view=view,
        version=run.parity_version,
        reference=run.reference,
        css=Markup(_css()),  # our own stylesheet, trusted; everything else stays escaped
        how_intro=HOW_TO_READ_INTRO,
        how=HOW_TO_READ,
        reference_note=REFERENCE_NOTE,
        outcomes={o.value for o in Outcome} | {p.value for p in ProbeOutcome},
        forests=[(f, forest_svg(f)) for f in view.forests],
        choice=choice_view(run, verdicts),
        watch=watch,
        watch_plots=[(s, timeseries_svg(s, watch.since, watch.until)) for s in watch.streams] if watch else [],
    )

"""Probe outcomes are told apart in the report: not_applicable is neither pass, fail,
inconclusive nor unsupported, in the HTML (its own badge style) and in Markdown."""

from __future__ import annotations

import re
from importlib.resources import files

from parity.report import render_html, render_markdown
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict

from .report_samples import make_run
from .test_report_html import parse

PROBES = [ProbeResult(name=f"probe.{o.value}", description="d", outcome=o, requests=2,
                      reason=f"why {o.value}") for o in ProbeOutcome]


def _verdicts() -> list[Verdict]:
    ref = Verdict(endpoint="ref", suite="conformance", verdict=Outcome.REFERENCE, test="reference", alpha=0.05,
                  requests=10)
    cand = Verdict(endpoint="cand", suite="conformance", verdict=Outcome.FAIL, test="any probe failed",
                   alpha=0.05, requests=10, probes=PROBES)
    return [ref, cand]


def _rule(css: str, selector: str) -> str:
    m = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", css)
    assert m is not None, selector
    return " ".join(m.group(1).split())


def test_html_styles_not_applicable_apart() -> None:
    page = parse(render_html(make_run(), _verdicts()))
    rows = {a["data-probe"]: a["class"] for t, a in page.tags if t == "tr" and "data-probe" in a}
    assert rows == {f"probe.{o.value}": o.value for o in ProbeOutcome}
    badges = [a["class"] for t, a in page.tags if t == "span" and (a.get("class") or "").startswith("badge")]
    assert "badge not_applicable" in badges
    assert "not applicable" in "".join(page.text)  # shown in words, not as an identifier
    css = (files("parity.report") / "templates" / "report.css").read_text()
    styles = {o: _rule(css, f".badge.{o}") for o in ("pass", "fail", "inconclusive", "unsupported",
                                                     "not_applicable")}
    assert len(set(styles.values())) == len(styles), styles  # every outcome looks different


def test_markdown_names_not_applicable() -> None:
    md = render_markdown(make_run(), _verdicts())
    assert "⚪ not applicable" in md and "➖ unsupported" in md and "❌ fail" in md
    assert "1 not applicable" in md  # the verdict's probe summary
    assert "not applicable**" in md  # and the reading guide explains it

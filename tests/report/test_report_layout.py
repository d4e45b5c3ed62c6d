"""The page carries its own styles, a contents list and an endpoint x suite matrix; probe
verdicts say how many probes failed; an error verdict is shown as one."""

from __future__ import annotations

import re

from parity.report import render_html, render_markdown
from parity.store import RunRecord
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict

from .test_report_html import parse


def conformance_fail() -> Verdict:
    probes = [ProbeResult(name=f"probe.{i}", description="d", outcome=o, requests=2)
              for i, o in enumerate([ProbeOutcome.FAIL, ProbeOutcome.FAIL, ProbeOutcome.PASS,
                                     ProbeOutcome.UNSUPPORTED])]
    return Verdict(endpoint="q4-broken", suite="conformance", verdict=Outcome.FAIL,
                   test="all probes pass; per-probe exact rules / comparison with reference",
                   alpha=0.05, requests=8, probes=probes)


def unreachable() -> Verdict:
    return Verdict(endpoint="tiny", suite="conformance", verdict=Outcome.ERROR, test="t", alpha=0.05,
                   requests=4, reasons=["error: unreachable -- 4/4 requests were not served (connect_error x4)"])


def test_stylesheet_is_in_the_page_unescaped(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, verdicts)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    css = style.group(1)
    assert 'font: 14px/1.5 -apple-system, "Segoe UI"' in css  # quotes intact, not &#34;
    assert "&#34;" not in css and "&gt;" not in css and "@media (max-width: 700px)" in css


def test_contents_and_matrix_link_to_every_block(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, [*verdicts, conformance_fail(), unreachable()])
    page = parse(html)
    assert page.errors == []
    ids = {a["id"] for _, a in page.tags if a.get("id")}
    hrefs = [a["href"] for t, a in page.tags if t == "a" and (a.get("href") or "").startswith("#")]
    assert hrefs and all(h[1:] in ids for h in hrefs)  # no dangling link
    nav = html[html.index('<nav id="contents"'):html.index("</nav>")]
    for anchor in ("#matrix", "#how-to-read", "#verdicts", "#endpoints"):
        assert f'href="{anchor}"' in nav
    assert html.index('id="matrix"') < html.index('id="verdicts"')  # the matrix is at the top
    matrix = html[html.index('<table class="matrix">'):]
    matrix = matrix[:matrix.index("</table>")]
    rows = re.findall(r'<tr data-endpoint="([^"]+)">(.*?)</tr>', matrix, re.S)
    cells = {ep: re.findall(r'class="badge (\w+)"|(not run)', row) for ep, row in rows}
    assert [ep for ep, _ in rows] == ["ref", "q4-broken", "q8", "tiny"]
    assert cells["q4-broken"] == [("fail", ""), ("fail", "")]
    assert cells["ref"] == [("reference", ""), ("", "not run")]
    assert cells["tiny"] == [("inconclusive", ""), ("error", "")]


def test_probe_verdicts_say_how_many_probes_failed(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, [*verdicts, conformance_fail()])
    row = re.search(r'<tr class="fail" data-endpoint="q4-broken" data-suite="conformance".*?</tr>', html, re.S)
    assert row is not None and "2 of 4 probes failed (1 pass, 1 unsupported)" in row.group(0)
    md = render_markdown(run, [*verdicts, conformance_fail()])
    assert "2 of 4 probes failed" in md and "## Endpoints × suites" in md

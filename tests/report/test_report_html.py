"""The HTML report: structure, intervals with counts, escaping, and no external assets."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from parity.report import ReportPaths, render_html, results_json, write_report
from parity.store import RunRecord, Store
from parity.verdict import Estimate, Outcome, Verdict

from .report_samples import SCRIPT, make_run, make_verdicts

VOID = {"meta", "br", "hr", "img", "input", "link", "rect", "line", "circle", "path"}


class Page(HTMLParser):
    """Collects start tags with their attributes, text, and checks tags nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.rows: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr" and "data-outcome" in a:
            self.rows.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


def test_write_report_writes_three_files(tmp_path: Path, run: RunRecord, verdicts: list[Verdict]) -> None:
    paths = write_report(run, verdicts, tmp_path / "out")
    assert paths == ReportPaths(tmp_path / "out/report.html", tmp_path / "out/report.md",
                                tmp_path / "out/results.json")
    assert json.loads(paths.json.read_text()) == json.loads(json.dumps(results_json(run, verdicts)))
    assert paths.html.read_text().startswith("<!DOCTYPE html>")
    assert paths.markdown.read_text().startswith("# parity report")


def test_tags_nest_and_the_page_is_self_contained(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, verdicts)
    page = parse(html)
    assert page.errors == [] and page.stack == []
    names = {t for t, _ in page.tags}
    assert not names & {"script", "link", "iframe", "img", "object", "embed"}
    for _, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith("#"), f"{key}={value!r} points outside the page"
    assert "@import" not in html and "url(" not in html


def test_leaderboard_has_one_row_per_verdict(run: RunRecord, verdicts: list[Verdict]) -> None:
    rows = parse(render_html(run, verdicts)).rows
    got = [(r["data-endpoint"], r["data-suite"], r["data-outcome"]) for r in rows]
    assert got == [
        ("ref", "toolcall", "reference"),
        ("q8", "toolcall", "pass"),
        ("tiny", "toolcall", "inconclusive"),
        ("q4-broken", "toolcall", "fail"),
        ("q8", "conformance", "pass"),
    ]


def test_every_metric_shows_its_interval_and_count(run: RunRecord, verdicts: list[Verdict]) -> None:
    text = "".join(parse(render_html(run, verdicts)).text)
    assert "22.5%" in text and "[12.3%, 37.5%]" in text and "9 of 40" in text
    assert "0.225" in text and "[0.091, 0.375]" in text  # a difference: a plain number
    assert "812.000" in text and "[700.500, 950.000]" in text  # another suite's metric, not a %
    assert "Holm" in text and "0.0004" in text and "e = 1.3" in text


def test_untrusted_text_is_escaped(run: RunRecord) -> None:
    v = make_verdicts()
    v[1] = v[1].model_copy(update={"endpoint": "<b>x</b>", "failing_checks": [SCRIPT],
                                   "metrics": {SCRIPT: Estimate(value=1.0, n=1)}})
    html = render_html(run, v)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "<b>x</b>" not in html
    assert "&lt;img src=https://evil.example/x.png&gt;" in html  # shown as text, never fetched
    assert SCRIPT in "".join(parse(html).text)  # the reader sees exactly what was sent


def test_reference_row_and_noise_floor(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, verdicts)
    assert 'data-endpoint="ref" data-suite="toolcall" data-outcome="reference"' in html
    assert "noise floor" in html
    assert "trigger_agreement" in html


def test_forest_plot_with_margin_band(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, verdicts)
    assert html.count("<svg") == 1 and 'class="band"' in html
    assert "±0.1" in html
    no_margin = make_run(config={})
    assert 'class="band"' not in render_html(no_margin, verdicts)


def test_works_with_no_verdicts_and_empty_metrics(run: RunRecord) -> None:
    empty = Verdict(endpoint="x", suite="equality", verdict=Outcome.INCONCLUSIVE, test="t",
                    alpha=0.05, requests=0, metrics={"agreement_rate": Estimate(value=None, n=0)})
    assert "n/a" in render_html(run, [empty])
    page = parse(render_html(run, []))
    assert page.errors == [] and page.rows == []


def test_from_a_store(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "parity.db"))
    try:
        rec = store.create_run(fingerprint="f", parity_version="0.1.0", seed=1, reference="ref",
                               suites=["toolcall"], datasets={"toolcall": "h"}, config={})
        store.save_verdicts(rec.id, make_verdicts())
        paths = write_report(store.get_run(rec.id), store.verdicts(rec.id), tmp_path)
    finally:
        store.close()
    assert len(parse(paths.html.read_text()).rows) == 5


def test_probes_are_listed_with_their_evidence(run: RunRecord, verdicts: list[Verdict]) -> None:
    html = render_html(run, verdicts)
    page = parse(html)
    probes = [(a["data-probe"], a["class"]) for t, a in page.tags if t == "tr" and "data-probe" in a]
    assert probes == [("finish_reason.max_tokens_length", "pass"), ("params.logprobs", "fail"),
                      ("params.seed", "unsupported")]
    assert "no logprobs in the answer" in html
    assert "<script" not in html.lower()

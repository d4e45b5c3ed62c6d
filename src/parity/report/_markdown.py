"""The Markdown report (GitHub-flavoured): the HTML report's content, as tables and fenced blocks.

Text from endpoints is untrusted: free text is backslash-escaped so it can
neither open HTML nor break a table; excerpts go in fences longer than any
backtick run inside them.
"""

from __future__ import annotations

import re

from parity.store import RunRecord
from parity.verdict import Verdict

from ._choice_view import choice_markdown
from ._examples import Example
from ._format import HOW_TO_READ, HOW_TO_READ_INTRO, REFERENCE_NOTE
from ._timeseries import WatchHistory, watch_markdown
from ._view import Block, ReportView, build_view

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#~!])")
_BADGE = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive", "reference": "🔷 reference",
          "error": "🛑 error", "unsupported": "➖ unsupported", "not_applicable": "⚪ not applicable"}


def md_text(s: str) -> str:
    """Inline text, one line: Markdown and HTML punctuation escaped, newlines folded."""
    return _SPECIAL.sub(r"\\\1", " ".join(s.split()))


def md_code(s: str, in_table: bool = False) -> str:
    """A code span that survives backticks in ``s`` and, in a table, pipes."""
    s = " ".join(s.split())
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    body = f" {s} " if run or s.startswith("`") or s.endswith("`") else s
    if in_table:
        # GFM splits table cells on pipes before it sees code spans.
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}" if s else ""


def md_fence(s: str, info: str = "text") -> list[str]:
    run = max((len(m) for m in re.findall(r"`{3,}", s)), default=0)
    fence = "`" * max(3, run + 1)
    return [f"{fence}{info}", *s.splitlines(), fence]


def table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    """Cells must already be escaped (``md_text``/``md_code(.., in_table=True)``)."""
    right = right or set()
    sep = ["---:" if i in right else "---" for i in range(len(header))]
    return [f"| {' | '.join(r)} |" for r in (header, sep, *rows)]


def _head(view: ReportView) -> list[str]:
    out = [f"# {md_text(view.title)}", ""]
    rows = [[md_text(k), md_code(v, True) if k in ("run", "fingerprint") else md_text(v)]
            for k, v in view.header]
    rows += [[f"dataset {md_code(s, True)}", md_code(h, True)] for s, h in view.datasets]
    out += [*table(["", ""], rows), "", *_matrix(view), "## How to read this", "", md_text(HOW_TO_READ_INTRO), ""]
    out += [f"- **{md_text(label.replace('_', ' '))}**: {md_text(text)}" for label, text in HOW_TO_READ]
    return [*out, ""]


def _matrix(view: ReportView) -> list[str]:
    rows = [[md_text(r.endpoint), *(_BADGE.get(c[0], md_text(c[0])) if c else "not run" for c in r.cells)]
            for r in view.matrix]
    return ["## Endpoints × suites", "", *table(["endpoint", *(md_text(s) for s in view.suites)], rows), ""]


def _leaderboard(view: ReportView) -> list[str]:
    header = ["endpoint", "suite", "verdict", "test", "α", "p (Holm)", "requests", "reference requests"]
    rows = [
        [md_text(b.endpoint), md_text(b.suite), _BADGE.get(b.outcome, md_text(b.outcome)), md_text(b.test),
         b.alpha, md_text(b.p), b.requests, md_text(b.reference_requests)]
        for b in view.leaderboard
    ]
    out = ["## Verdicts", "", *table(header, rows, right={4, 5, 6, 7}), ""]
    if view.endpoints:
        keys = list(view.endpoints[0])
        out += ["## Endpoints", "", *table(keys, [[md_text(ep[k]) for k in keys] for ep in view.endpoints]), ""]
    return out


def _example(e: Example) -> list[str]:
    parts = [md_code(e.check), e.item and f"item {md_code(e.item)}", e.case_id and f"case {md_code(e.case_id)}",
             e.repeat and f"repeat {md_text(e.repeat)}"]
    title = "- " + (" · ".join(p for p in parts if p) or "excerpt")
    body = "\n".join(f"{k}: {v}" for k, v in e.fields) or "(no excerpt)"
    return [title, "", *("  " + line if line else "" for line in md_fence(body)), ""]


def _probes(b: Block) -> list[str]:
    rows = [[md_code(p.name, True), _BADGE.get(p.outcome, md_text(p.outcome)), md_text(p.description),
             p.requests, md_text(p.reason)] for p in b.probes]
    out = ["**Probes**", "", *table(["probe", "outcome", "what it checks", "requests", "reason"], rows, {3}), ""]
    for p in b.probes:
        if p.examples:
            out += [f"Evidence for {md_code(p.name)} ({md_text(p.outcome)}):", ""]
            for e in p.examples:
                out += _example(e)
    return out


def _block(b: Block) -> list[str]:
    out = [f"### {md_text(b.suite)}: {_BADGE.get(b.outcome, md_text(b.outcome))}", ""]
    parts = [f"test: {md_text(b.test)}", f"α = {b.alpha}", md_text(b.evidence), f"requests: {b.requests}"]
    if b.outcome == "reference":
        out += [" · ".join(p for p in parts if p), "", md_text(REFERENCE_NOTE), ""]
    else:
        out += [" · ".join(p for p in parts if p) + f" (reference: {md_text(b.reference_requests)})", ""]
    if b.reasons:
        out += [*(f"- {md_text(r)}" for r in b.reasons), ""]
    if b.metrics:
        # value, interval and n are formatted numbers, nothing to escape
        rows = [[md_code(m.name, True), m.value, m.interval, m.n, md_text(m.method)]
                for m in b.metrics]
        out += ["**Metrics**", "", *table(["metric", "value", "95% interval", "n", "method"], rows, {1, 2, 3}), ""]
    if b.tests:
        rows = [[md_code(t.name, True), t.statistic, t.p_raw, t.p_adjusted, t.e_value,
                 "**yes**" if t.rejected else "no", md_text(t.detail)] for t in b.tests]
        header = ["test", "statistic", "p", "p (Holm)", "e-value", "rejected", "counts"]
        out += ["**Tests**", "", *table(header, rows, {1, 2, 3, 4}), ""]
    if b.probes:
        out += _probes(b)
    if b.failing_checks:
        out += ["**Failing checks**: " + ", ".join(md_code(c) for c in b.failing_checks), ""]
    if b.examples:
        out += ["**Failing examples**", ""]
        for e in b.examples:
            out += _example(e)
        if b.examples_left_out:
            out += [f"{b.examples_left_out} more examples not shown.", ""]
    return out


def render_markdown(run: RunRecord, verdicts: list[Verdict], watch: WatchHistory | None = None) -> str:
    view = build_view(run, verdicts)
    out = _head(view) + _leaderboard(view) + choice_markdown(run, verdicts)
    for s in view.sections:
        out += [f"## {md_text(s.endpoint)}" + (" (reference)" if s.is_reference else ""), ""]
        for b in s.blocks:
            out += _block(b)
    if watch is not None:
        out += watch_markdown(watch)
    out += ["---", "", f"Generated by parity {md_text(run.parity_version)}. "
            "Machine-readable results: `results.json` beside this file.", ""]
    return "\n".join(out)

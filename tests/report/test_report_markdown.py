"""The Markdown report: well-formed tables, escaped text, excerpts in fences that hold."""

from __future__ import annotations

import re

from parity.report import render_markdown
from parity.report._markdown import md_code, md_fence, md_text
from parity.store import RunRecord
from parity.verdict import Verdict

from .report_samples import HOSTILE, SCRIPT, make_verdicts

CELL_SPLIT = re.compile(r"(?<!\\)\|")


def tables(md: str) -> list[list[str]]:
    """Runs of consecutive lines starting with '|' (outside fences)."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in _outside_fences(md):
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    return [*out, current] if current else out


def _outside_fences(md: str) -> list[str]:
    lines, fence = [], ""
    for line in md.splitlines():
        stripped = line.strip()
        m = re.match(r"(`{3,})", stripped)
        if fence:
            if stripped == fence:
                fence = ""
            continue
        if m:
            fence = m.group(1)
            continue
        lines.append(line)
    return lines


def test_tables_are_well_formed(run: RunRecord, verdicts: list[Verdict]) -> None:
    found = tables(render_markdown(run, verdicts))
    assert len(found) >= 6
    for t in found:
        widths = {len(CELL_SPLIT.split(row.strip())) for row in t}
        assert len(widths) == 1, t
        assert re.fullmatch(r"\|( -{3}:? \|)+", t[1]), t[1]


def test_leaderboard(run: RunRecord, verdicts: list[Verdict]) -> None:
    md = render_markdown(run, verdicts)
    board = next(t for t in tables(md) if t[0].startswith("| endpoint | suite | verdict"))
    cells = [[c.strip() for c in CELL_SPLIT.split(r.strip())[1:-1]] for r in board[2:]]
    assert [(c[0], c[1], c[2].split()[-1]) for c in cells] == [
        ("ref", "toolcall", "reference"), ("q8", "toolcall", "pass"),
        ("tiny", "toolcall", "inconclusive"), ("q4-broken", "toolcall", "fail"),
        ("q8", "conformance", "pass"),
    ]
    fail = cells[3]
    assert fail[5:] == ["0.0004", "40", "80"]


def test_metrics_carry_interval_and_count(run: RunRecord, verdicts: list[Verdict]) -> None:
    md = render_markdown(run, verdicts)
    assert "| `rate.tool_call.invalid_json` | 22.5% | [12.3%, 37.5%] | 9 of 40 | wilson |" in md
    assert "| `toolcall_error_diff` | 0.225 | [0.091, 0.375] | 80 | newcombe |" in md


def test_script_appears_only_inside_fences(run: RunRecord, verdicts: list[Verdict]) -> None:
    md = render_markdown(run, verdicts)
    assert SCRIPT in md  # the excerpt, verbatim inside its fence
    assert not any(re.search(r"(?<!\\)<script", line) for line in _outside_fences(md))
    assert "\\<script\\>" in md  # the reason that quotes it, escaped


def test_fence_outlasts_backticks_in_the_excerpt() -> None:
    lines = md_fence("a ``` b\n````")
    assert lines[0] == "`````text" and lines[-1] == "`````"
    assert md_fence("plain")[0] == "```text"


def test_inline_escapes() -> None:
    assert md_text("a|b <i>\nc") == "a\\|b \\<i\\> c"
    assert md_code("x|y", in_table=True) == "`x\\|y`"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("") == ""


def test_hostile_endpoint_name_keeps_tables_intact(run: RunRecord) -> None:
    v = make_verdicts()
    v[1] = v[1].model_copy(update={"endpoint": HOSTILE, "failing_checks": ["a|b"]})
    for t in tables(render_markdown(run, v)):
        assert len({len(CELL_SPLIT.split(row.strip())) for row in t}) == 1


def test_probes_table(run: RunRecord, verdicts: list[Verdict]) -> None:
    md = render_markdown(run, verdicts)
    assert "| `params.logprobs` | ❌ fail | logprobs are returned when asked | 2 | no logprobs in the answer |" in md
    assert "Evidence for `params.logprobs` (fail):" in md

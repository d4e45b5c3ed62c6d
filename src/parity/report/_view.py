"""What a report shows, as plain text fields: built once, rendered as Markdown or HTML.

Nothing here is escaped; each renderer escapes for its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parity.store import RunRecord
from parity.verdict import Estimate, Outcome, Verdict

from ._examples import Example, example
from ._format import (
    NONE,
    OUTCOME_RANK,
    as_text,
    fmt_detail,
    fmt_interval,
    fmt_n,
    fmt_number,
    fmt_p,
    fmt_p_or_e,
    fmt_value,
    is_effect_estimate,
    shown_in_percent,
)

MAX_EXAMPLES = 50


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: str
    interval: str
    n: str
    method: str
    percent: bool


@dataclass(frozen=True)
class TestRow:
    name: str
    statistic: str
    p_raw: str
    p_adjusted: str
    e_value: str
    rejected: bool
    detail: str


@dataclass(frozen=True)
class ProbeRow:
    """One targeted experiment inside a verdict (e.g. a conformance probe)."""

    name: str
    outcome: str
    description: str
    requests: str
    reason: str
    examples: list[Example]


@dataclass(frozen=True)
class Block:
    """One verdict: an endpoint on one suite."""

    endpoint: str
    suite: str
    outcome: str
    anchor: str
    test: str
    alpha: str
    p: str
    evidence: str
    requests: str
    reference_requests: str
    reasons: list[str]
    metrics: list[MetricRow]
    tests: list[TestRow]
    failing_checks: list[str]
    examples: list[Example]
    examples_left_out: int
    probes: list[ProbeRow]
    block_anchor: str = ""  # this block's own id, for the matrix and the contents


@dataclass(frozen=True)
class MatrixRow:
    """One endpoint's verdicts across suites: (outcome, block anchor) or None where not run."""

    endpoint: str
    anchor: str
    cells: list[tuple[str, str] | None]


@dataclass(frozen=True)
class Section:
    endpoint: str
    anchor: str
    is_reference: bool
    blocks: list[Block]


@dataclass(frozen=True)
class ForestRow:
    endpoint: str
    effect: str
    outcome: str
    estimate: Estimate


@dataclass(frozen=True)
class Forest:
    suite: str
    margin: float | None
    rows: list[ForestRow]


@dataclass(frozen=True)
class ReportView:
    title: str
    header: list[tuple[str, str]]
    datasets: list[tuple[str, str]]
    endpoints: list[dict[str, str]]
    leaderboard: list[Block]
    sections: list[Section]
    forests: list[Forest] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)
    matrix: list[MatrixRow] = field(default_factory=list)


def run_settings(run: RunRecord) -> dict[str, Any]:
    settings = run.config.get("run") if isinstance(run.config, dict) else None
    return settings if isinstance(settings, dict) else {}


def run_margin(run: RunRecord) -> float | None:
    m = run_settings(run).get("margin")
    return float(m) if isinstance(m, (int, float)) and not isinstance(m, bool) else None


def _anchor(endpoint: str, index: int) -> str:
    return f"ep-{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", endpoint)[:40]


def _metric_rows(metrics: dict[str, Estimate]) -> list[MetricRow]:
    rows = []
    for name, e in metrics.items():
        pct = shown_in_percent(name, e)
        rows.append(MetricRow(name, fmt_value(e, pct), fmt_interval(e, pct), fmt_n(e), e.method, pct))
    return rows


def _evidence_line(v: Verdict) -> str:
    if v.p_value is not None:
        return f"p (Holm) = {fmt_p(v.p_value)}"
    return f"e-value = {fmt_number(v.e_value)}" if v.e_value is not None else ""


def probe_summary(v: Verdict) -> str:
    """'3 of 12 probes failed (8 pass, 1 unsupported)': what a probe-based verdict rests on."""
    counts: dict[str, int] = {}
    for p in v.probes:
        counts[p.outcome.value] = counts.get(p.outcome.value, 0) + 1
    rest = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()) if k != "fail")
    return f"{counts.get('fail', 0)} of {len(v.probes)} probes failed" + (f" ({rest})" if rest else "")


def _block(v: Verdict, anchor: str) -> Block:
    is_ref = v.verdict is Outcome.REFERENCE
    # A probe-based verdict's test line says how many probes failed, not only the rule.
    test = f"{probe_summary(v)}; {v.test}" if v.probes else v.test
    return Block(
        endpoint=v.endpoint,
        suite=v.suite,
        outcome=v.verdict.value,
        anchor=anchor,
        block_anchor=f"{anchor}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", v.suite)[:40],
        test=test,
        alpha=f"{v.alpha:g}",
        p=fmt_p_or_e(v.p_value, v.e_value),
        evidence=_evidence_line(v),
        requests=str(v.requests),
        reference_requests=NONE if is_ref else str(v.reference_requests),
        reasons=list(v.reasons),
        metrics=_metric_rows(v.metrics),
        tests=[
            TestRow(t.name, fmt_number(t.statistic), fmt_p(t.p_value), fmt_p(t.p_adjusted),
                    fmt_number(t.e_value), t.rejected, fmt_detail(t.detail))
            for t in v.tests
        ],
        failing_checks=list(v.failing_checks),
        examples=[example(e) for e in v.evidence[:MAX_EXAMPLES]],
        examples_left_out=max(len(v.evidence) - MAX_EXAMPLES, 0),
        probes=[
            ProbeRow(p.name, p.outcome.value, p.description, str(p.requests), p.reason,
                     [example(e) for e in p.evidence[:MAX_EXAMPLES]])
            for p in v.probes
        ],
    )


def _header(run: RunRecord, verdicts: list[Verdict]) -> list[tuple[str, str]]:
    s = run_settings(run)
    margin = run_margin(run)
    rows = [
        ("run", run.id),
        ("date", run.created_at.isoformat(timespec="seconds")),
        ("finished", run.finished_at.isoformat(timespec="seconds") if run.finished_at else NONE),
        ("status", run.status),
        ("parity version", run.parity_version),
        ("reference", run.reference),
        ("suites", ", ".join(run.suites) or NONE),
        ("seed", str(run.seed)),
        ("alpha", f"{s['alpha']:g}" if isinstance(s.get("alpha"), (int, float)) else NONE),
        ("equivalence margin", f"±{margin:g}" if margin is not None else NONE),
        ("requests spent", str(sum(v.requests for v in verdicts))),
        ("fingerprint", run.fingerprint),
    ]
    return rows


def _endpoints(run: RunRecord) -> list[dict[str, str]]:
    eps = run.config.get("endpoints") if isinstance(run.config, dict) else None
    out = []
    for ep in eps if isinstance(eps, list) else []:
        if not isinstance(ep, dict):
            continue
        raw = ep.get("declared")
        declared: dict[str, Any] = raw if isinstance(raw, dict) else {}
        out.append({
            "name": as_text(ep.get("name", NONE)),
            "model": as_text(ep.get("model", NONE)),
            "role": "reference" if ep.get("reference") else "candidate",
            "engine": as_text(declared.get("engine") or NONE),
            "quantization": as_text(declared.get("quantization") or NONE),
            "context length": as_text(declared.get("context_length") or NONE),
        })
    return out


def _forests(verdicts: list[Verdict], margin: float | None) -> list[Forest]:
    by_suite: dict[str, list[ForestRow]] = {}
    for v in verdicts:
        if v.verdict is Outcome.REFERENCE:
            continue
        for name, e in v.metrics.items():
            if is_effect_estimate(name, e) and e.value is not None:
                by_suite.setdefault(v.suite, []).append(ForestRow(v.endpoint, name, v.verdict.value, e))
    return [Forest(suite, margin, rows) for suite, rows in by_suite.items()]


def build_view(run: RunRecord, verdicts: list[Verdict]) -> ReportView:
    """Sections: reference first, then candidates in order of appearance; leaderboard by suite, then verdict."""
    names = list(dict.fromkeys(v.endpoint for v in verdicts))
    refs = {v.endpoint for v in verdicts if v.verdict is Outcome.REFERENCE} | {run.reference}
    names.sort(key=lambda n: n not in refs)
    anchors = {n: _anchor(n, i) for i, n in enumerate(names)}
    blocks = {id(v): _block(v, anchors[v.endpoint]) for v in verdicts}
    suites = list(dict.fromkeys([*run.suites, *(v.suite for v in verdicts)]))
    ordered = sorted(
        verdicts,
        key=lambda v: (suites.index(v.suite), OUTCOME_RANK.get(v.verdict, 9), names.index(v.endpoint)),
    )
    sections = [
        Section(n, anchors[n], n in refs, [blocks[id(v)] for v in ordered if v.endpoint == n])
        for n in names
    ]
    return ReportView(
        title=f"parity report — {run.id}",
        header=_header(run, verdicts),
        datasets=sorted(run.datasets.items()),
        endpoints=_endpoints(run),
        leaderboard=[blocks[id(v)] for v in ordered],
        sections=sections,
        forests=_forests(verdicts, run_margin(run)),
        suites=suites,
        matrix=_matrix(names, anchors, suites, list(blocks.values())),
    )


def _matrix(names: list[str], anchors: dict[str, str], suites: list[str], blocks: list[Block]) -> list[MatrixRow]:
    cell = {(b.endpoint, b.suite): (b.outcome, b.block_anchor) for b in blocks}
    return [MatrixRow(n, anchors[n], [cell.get((n, s)) for s in suites]) for n in names]

"""The demo's closing words: per endpoint, what it is, its verdicts, and why each failing one failed.

A newcomer reads this, not the table: one block per endpoint, the reference
first, candidates that pass, then those that fail or could not be judged,
each failure with its own named reason (the failing check or probe and what
it found). Probes the reference itself cannot do are counted as "not
applicable", apart from everything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from parity.verdict import Outcome, ProbeOutcome, Verdict

_ORDER = {Outcome.REFERENCE: 0, Outcome.PASS: 1, Outcome.INCONCLUSIVE: 2, Outcome.FAIL: 3, Outcome.ERROR: 4}
_HEAD = {Outcome.REFERENCE: "the reference: every other endpoint is judged against it",
         Outcome.PASS: "passes: indistinguishable from the reference on every suite run",
         Outcome.INCONCLUSIVE: "inconclusive: no failure found, but not shown to match either",
         Outcome.FAIL: "FAILS", Outcome.ERROR: "could not be judged"}
_WIDTH = 150


def _short(text: str, width: int = _WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _overall(verdicts: Sequence[Verdict]) -> Outcome:
    return max((v.verdict for v in verdicts), key=lambda o: _ORDER[o])


def _probe_counts(v: Verdict) -> str:
    counts = Counter(p.outcome for p in v.probes)
    parts = [f"{counts[o]} {o.value.replace('_', ' ')}" for o in ProbeOutcome if counts[o]]
    return f" ({', '.join(parts)})" if parts else ""


def _why(v: Verdict) -> list[str]:
    """The named reasons behind one failing or inconclusive verdict."""
    wanted = ProbeOutcome.FAIL if v.verdict is Outcome.FAIL else ProbeOutcome.INCONCLUSIVE
    if v.probes:
        return [f"{p.name}: {_short(p.reason)}" for p in v.probes if p.outcome is wanted][:4]
    reasons = [r for r in v.reasons if r]
    if v.failing_checks:
        checks = ", ".join(v.failing_checks[:4])
        return [f"{checks}: {_short(reasons[0])}" if reasons else checks]
    return [_short(reasons[0])] if reasons else []  # the first reason is the decision; the rest detail it


def _reference_note(v: Verdict) -> list[str]:
    """What the reference's own probe results mean for the others."""
    failed = [p.name for p in v.probes if p.outcome is ProbeOutcome.FAIL]
    cannot = sum(p.outcome is ProbeOutcome.UNSUPPORTED for p in v.probes)
    if not failed and not cannot:
        return []
    parts = ([f"fails {', '.join(failed[:4])}"] if failed else []) + (
        [f"cannot do {cannot} probe(s) (unsupported)"] if cannot else [])
    return [f"        note: the reference {' and '.join(parts)}; for the others those probes are not "
            "applicable, not failures"]


def explain(verdicts: Sequence[Verdict], descriptions: Mapping[str, str] | None = None) -> list[str]:
    """Plain lines (no markup) saying, per endpoint, what it is and why it got its verdicts."""
    by_endpoint: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_endpoint.setdefault(v.endpoint, []).append(v)
    descriptions = descriptions or {}
    out: list[str] = ["What the verdicts say, endpoint by endpoint:"]
    for name, vs in sorted(by_endpoint.items(), key=lambda kv: (_ORDER[_overall(kv[1])], kv[0])):
        overall = _overall(vs)
        what = f" ({descriptions[name]})" if name in descriptions else ""
        failed = [v.suite for v in sorted(vs, key=lambda v: v.suite) if v.verdict is Outcome.FAIL]
        head = f"{_HEAD[overall]} {', '.join(failed)}" if overall is Outcome.FAIL else _HEAD[overall]
        out.append(f"  {name}{what}: {head}")
        for v in sorted(vs, key=lambda v: v.suite):
            out.append(f"      {v.suite}: {v.verdict.value}{_probe_counts(v)}")
            if v.verdict in (Outcome.FAIL, Outcome.INCONCLUSIVE, Outcome.ERROR):
                out += [f"        why: {w}" for w in _why(v)]
            elif v.verdict is Outcome.REFERENCE:
                out += _reference_note(v)
    if any(p.outcome is ProbeOutcome.NOT_APPLICABLE for v in verdicts for p in v.probes):
        out.append("  (not applicable: a probe the reference itself fails or cannot exercise, e.g. reasoning on a "
                   "model that does not think; it counts neither for nor against a candidate)")
    return out

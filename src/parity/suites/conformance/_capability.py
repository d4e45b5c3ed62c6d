"""Probes that need the model to do something first (think, call a tool) before the endpoint
can be judged on how it serves it.

When the model does not do it at all, the probe cannot be exercised: that is
``unsupported`` on the endpoint's own row, ``not_applicable`` for a candidate
whose reference does not do it either, and a ``fail`` for a candidate that
does not do it where the reference does (e.g. reasoning dropped, calls lost).
The testbed's SmolLM2-135M has no reasoning at all, so the reasoning probes
are ``unsupported`` / ``not_applicable`` there, honestly.
"""

from __future__ import annotations

from parity.evidence import ExchangeExcerpt
from parity.verdict import ProbeResult

from ._probe import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    UNSUPPORTED,
    Assessment,
    Probe,
    Steps,
    not_applicable,
)

MISSING = "cannot exercise:"  # the reason of an Assessment for "the model did not do it"


def missing(what: str, evidence: list[ExchangeExcerpt] | None = None) -> Assessment:
    return Assessment(UNSUPPORTED, f"{MISSING} {what}", list(evidence or []))


def is_missing(a: Assessment) -> bool:
    return a.outcome is UNSUPPORTED and a.reason.startswith(MISSING)


class CapabilityProbe(Probe):
    """``assess`` returns ``missing(...)`` when the model did not do what the probe needs."""

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        mine = self.assess(candidate)
        if reference is None or mine.outcome is PASS:
            return self.result(mine, candidate)
        theirs = self.assess(reference)
        if is_missing(mine) and theirs.outcome is PASS:
            mine = Assessment(FAIL, f"{mine.reason.removeprefix(MISSING).strip()}, where the reference "
                              f"does it ({theirs.reason})", mine.evidence)
        elif is_missing(theirs):
            mine = Assessment(NOT_APPLICABLE, f"not applicable: the reference {theirs.reason} "
                              f"(here: {mine.reason})", mine.evidence)
        else:
            mine = not_applicable(mine, theirs)
        return self.result(mine, candidate)

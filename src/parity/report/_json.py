"""The machine-readable result: ``{"schema_version": 1, "run_id", "reference", "verdicts": [...]}``."""

from __future__ import annotations

from typing import Any

from parity.store import RunRecord
from parity.verdict import Outcome, Verdict

from ._choice import choice_json, spend_json

SCHEMA_VERSION = 1


def verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "endpoint": v.endpoint,
        "suite": v.suite,
        "verdict": v.verdict.value,
        "test": v.test,
        "p_value": v.p_value,
        "e_value": v.e_value,
        "alpha": v.alpha,
        "requests": v.requests,
        "reference_requests": v.reference_requests,
        "failing_checks": v.failing_checks,
        "reasons": v.reasons,
        "metrics": {k: m.model_dump(mode="json") for k, m in v.metrics.items()},
        "tests": [t.model_dump(mode="json") for t in v.tests],
    }


def results_json(run: RunRecord, verdicts: list[Verdict]) -> dict[str, Any]:
    """Candidates' verdicts first-class; the reference's own metrics under ``reference_metrics``."""
    ref = [v for v in verdicts if v.verdict is Outcome.REFERENCE]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.id,
        "reference": run.reference,
        "parity_version": run.parity_version,
        "created_at": run.created_at.isoformat(),
        "datasets": run.datasets,
        "seed": run.seed,
        "verdicts": [verdict_dict(v) for v in verdicts if v.verdict is not Outcome.REFERENCE],
        "choice": choice_json(run, verdicts),
        "spend": spend_json(verdicts),
        "reference_metrics": {
            v.suite: {k: m.model_dump(mode="json") for k, m in v.metrics.items()} for v in ref
        },
    }

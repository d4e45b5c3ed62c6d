"""The machine-readable results: versioned pydantic models, their JSON Schema in docs/.

``results.json`` (``parity verify --json``, the report directory) is a
:class:`Results`; ``parity score toolcall --json`` writes a :class:`ScoreResults`.
Both are published as JSON Schema (docs/results-schema.json, docs/score-schema.json)
and described in docs/results.md. Version 2 added per-probe results, evidence,
each estimate's kind and the run's store schema version; version 3 types the
evidence (``parity.evidence``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parity.store import RunRecord
from parity.verdict import Estimate, Outcome, Verdict

from ._choice import choice_json, spend_json
from ._timeseries import WatchHistory

SCHEMA_VERSION = 3


class Results(BaseModel):
    """One run's outcome: the candidates' verdicts, and the reference's own metrics."""

    model_config = ConfigDict(extra="forbid", title="parity results")

    schema_version: Literal[3] = Field(default=3, description="This document's format version.")
    run_id: str = Field(description="The run in the store (`parity report --run`).")
    run_schema_version: int = Field(description="The store schema version the run was written with.")
    reference: str = Field(description="The reference endpoint's name.")
    parity_version: str
    created_at: datetime
    datasets: dict[str, str] = Field(description="Suite -> hash of the dataset it ran.")
    seed: int
    verdicts: list[Verdict] = Field(
        description="Per candidate endpoint and suite: the verdict, its tests, metrics, probes "
                    "and evidence (typed, redacted excerpts of the exchanges or items behind it).")
    reference_metrics: dict[str, dict[str, Estimate]] = Field(
        description="Suite -> the reference's own metrics (its agreement with itself: the noise floor).")
    choice: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per model and endpoint: quality, speed and price side by side, each with its interval.")
    spend: list[dict[str, Any]] = Field(
        default_factory=list, description="Tokens and money per verdict (endpoint x suite).")
    watch: WatchHistory | None = Field(
        default=None, description="The watch's history of the run's endpoints (the sentinel statistic over "
                                  "time, its levels, transitions), when the store holds one.")


class ScoreResults(BaseModel):
    """``parity score toolcall --json``: parity's verdict on K2VV result files."""

    model_config = ConfigDict(extra="forbid", title="parity score results")

    schema_version: Literal[3] = Field(default=3, description="This document's format version.")
    verdict: Verdict
    reference_metrics: dict[str, Estimate]
    k2vv: dict[str, Any] = Field(description="K2VV's own figures, computed with its arithmetic.")


def verdict_dict(v: Verdict) -> dict[str, Any]:
    """A verdict as JSON data, everything included (probes and evidence too)."""
    return v.model_dump(mode="json")


def results_model(run: RunRecord, verdicts: list[Verdict], watch: WatchHistory | None = None) -> Results:
    """Candidates' verdicts first-class; the reference's own metrics under ``reference_metrics``."""
    return Results(
        run_id=run.id,
        run_schema_version=run.schema_version,
        reference=run.reference,
        parity_version=run.parity_version,
        created_at=run.created_at,
        datasets=run.datasets,
        seed=run.seed,
        verdicts=[v for v in verdicts if v.verdict is not Outcome.REFERENCE],
        reference_metrics={v.suite: dict(v.metrics) for v in verdicts if v.verdict is Outcome.REFERENCE},
        choice=choice_json(run, verdicts),
        spend=spend_json(verdicts),
        watch=watch,
    )


def results_json(run: RunRecord, verdicts: list[Verdict], watch: WatchHistory | None = None) -> dict[str, Any]:
    """:func:`results_model` as JSON data (``watch`` left out when there is none)."""
    return results_model(run, verdicts, watch).model_dump(mode="json",
                                                          exclude={"watch"} if watch is None else None)


def json_schemas() -> dict[str, str]:
    """The published JSON Schemas, by file name under docs/ (regenerate with
    ``python -m parity.report._json docs``; a test checks they are current)."""
    import json

    return {name: json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
            for name, model in (("results-schema.json", Results), ("score-schema.json", ScoreResults))}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    for file, text in json_schemas().items():
        (Path(sys.argv[1]) / file).write_text(text, encoding="utf-8")

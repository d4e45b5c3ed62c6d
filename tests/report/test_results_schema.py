"""results.json and score --json: typed, versioned, and valid against the schemas published in docs/."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from parity.report import Results, results_json
from parity.report._json import json_schemas
from parity.store import RunRecord
from parity.verdict import Verdict

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_published_schemas_are_current() -> None:
    for name, text in json_schemas().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/{name} is stale: run `python -m parity.report._json docs`")


def test_results_carry_probes_evidence_kinds_and_versions(run: RunRecord, verdicts: list[Verdict]) -> None:
    data = json.loads(json.dumps(results_json(run, verdicts)))
    jsonschema.validate(data, json.loads((DOCS / "results-schema.json").read_text()))
    assert data["schema_version"] == 3 and data["run_schema_version"] == run.schema_version
    by_name = {(v["endpoint"], v["suite"]): v for v in data["verdicts"]}
    assert all(v["verdict"] != "reference" for v in data["verdicts"])
    assert any(p["evidence"] for v in by_name.values() for p in v["probes"])
    assert any(v["evidence"] for v in by_name.values())
    evidence = [e for v in data["verdicts"] for e in [*v["evidence"], *(x for p in v["probes"] for x in p["evidence"])]]
    assert {e["kind"] for e in evidence} == {"exchange"}
    assert all(v["schema_version"] == 3 for v in data["verdicts"])
    kinds = {m["kind"] for v in data["verdicts"] for m in v["metrics"].values()}
    assert {"proportion", "difference"} <= kinds
    assert Results.model_validate(data).verdicts == [v for v in verdicts if v.verdict.value != "reference"]


def test_a_document_of_another_version_is_refused(run: RunRecord, verdicts: list[Verdict]) -> None:
    data = results_json(run, verdicts)
    data["schema_version"] = 1
    try:
        Results.model_validate(data)
    except ValueError as exc:
        assert "schema_version" in str(exc)
    else:
        raise AssertionError("a version-1 document validated as version 3")

"""Typed evidence: excerpts made from exchanges, and verdicts stored before version 3 still read.

``fixtures/verdicts-v2.jsonl`` holds verdicts exactly as parity wrote them at version 2
(dict evidence), produced by the suites themselves before evidence was typed: a tool-call
candidate with broken arguments and one refusing every request, two conformance candidates
(temperature overridden; tool-call arguments cut short) and an accuracy candidate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
from sqlalchemy import insert, select

from parity.evidence import (
    ExchangeExcerpt,
    ItemGap,
    LegacyExcerpt,
    excerpt_of,
    upgrade_v2,
)
from parity.exchange import Completion, Exchange, ExchangeStatus, ToolCall
from parity.report import Results, evidence_text, render_html, render_markdown, results_json
from parity.store import RunRecord, Store
from parity.store._tables import verdicts as verdict_rows
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict

HERE = Path(__file__).parent
V2 = [line for line in (HERE / "fixtures" / "verdicts-v2.jsonl").read_text(encoding="utf-8").splitlines() if line]
SCHEMA = json.loads((HERE.parent / "docs" / "results-schema.json").read_text(encoding="utf-8"))
SCRIPT = "<script>alert('pwned')</script>"


def _stored_v2(store: Store) -> RunRecord:
    run = store.create_run(fingerprint="f", parity_version="0.1.0", seed=1, reference="ref",
                           suites=["toolcall", "conformance", "accuracy"], datasets={}, config={})
    with store.engine.begin() as conn:
        for line in V2:
            d = json.loads(line)
            conn.execute(insert(verdict_rows).values(run_id=run.id, endpoint=d["endpoint"], suite=d["suite"],
                                                     verdict=d["verdict"], created_at=datetime.now(UTC), data=line))
    return store.get_run(run.id)


def _all_evidence(v: Verdict) -> list[object]:
    return [*v.evidence, *(e for p in v.probes for e in p.evidence)]


def test_stored_version_2_verdicts_read_with_typed_evidence(store: Store) -> None:
    run = _stored_v2(store)
    got = {v.endpoint: v for v in store.verdicts(run.id)}
    assert set(got) == {"broken", "down", "cand", "badjson", "worse"}
    assert {v.schema_version for v in got.values()} == {2}  # as written; the evidence is read typed
    assert not any(isinstance(e, LegacyExcerpt) for v in got.values() for e in _all_evidence(v))

    bad = got["broken"].evidence[0]
    assert isinstance(bad, ExchangeExcerpt) and bad.check == "tool_call.invalid_json"
    assert bad.response.status is ExchangeStatus.OK and bad.request is None  # v2 kept no request
    assert bad.response.tool_calls[0].name == "get_weather" and "not valid JSON" in bad.message
    refused = got["down"].evidence[0]
    assert isinstance(refused, ExchangeExcerpt) and refused.check == "request.http_error"
    assert refused.response.status is ExchangeStatus.HTTP_ERROR and refused.response.error == "HTTP 503: upstream error"

    probe = got["cand"].evidence[0]
    assert isinstance(probe, ExchangeExcerpt) and probe.probe == "sampling.temperature_zero"
    assert probe.request is not None
    assert probe.request.params == {"temperature": 0, "seed": probe.request.params["seed"], "max_tokens": 40}
    assert probe.request.messages == 1 and probe.request.last_message is not None
    assert probe.response.usage and probe.response.http_status == 200
    well_formed = next(p for p in got["badjson"].probes if p.name == "tool_call.well_formed")
    assert all(isinstance(e, ExchangeExcerpt) and e.message == "tool_call.invalid_json" for e in well_formed.evidence)

    gaps = got["worse"].evidence
    assert all(isinstance(g, ItemGap) and g.difference < 0 for g in gaps) and len(gaps) == 5


def test_stored_version_2_verdicts_report_and_validate(store: Store) -> None:
    run = _stored_v2(store)
    vs = store.verdicts(run.id)
    data = json.loads(json.dumps(results_json(run, vs)))
    jsonschema.validate(data, SCHEMA)
    assert data["schema_version"] == 3
    assert {e["kind"] for v in data["verdicts"] for e in v["evidence"]} == {"exchange", "item"}
    assert Results.model_validate(data).verdicts == vs
    html, md = render_html(run, vs), render_markdown(run, vs)
    for text in (html, md):
        assert "tool_call.invalid_json" in text and "case-3" in text and "HTTP 503: upstream error" in text
        assert "sampling.temperature_zero/seed11" in text and "Write a four-line poem about the moon." in text
        assert "item" in text and "q19" in text
    # Saved again, a converted verdict is written in the version-3 form and reads back the same.
    store.save_verdicts(run.id, vs)
    assert store.verdicts(run.id) == vs
    with store.engine.connect() as conn:
        rows = [json.loads(d) for (d,) in conn.execute(select(verdict_rows.c.data))]
    assert rows and all("kind" in e for row in rows for e in row["evidence"])


def test_an_unknown_old_shape_is_kept_as_written_and_shown_escaped() -> None:
    odd = {"note": SCRIPT, "seen": 3}
    v = Verdict(endpoint="e", suite="toolcall", verdict=Outcome.FAIL, test="t", alpha=0.05, requests=1,
                evidence=[odd, {"case_id": "c", "repeat": "not a number", "response": {}}],
                probes=[ProbeResult(name="p.q", description="d", outcome=ProbeOutcome.FAIL, evidence=[odd])])
    assert [type(e) for e in _all_evidence(v)] == [LegacyExcerpt, LegacyExcerpt, LegacyExcerpt]
    assert v.evidence[0] == LegacyExcerpt(data=odd)
    assert Verdict.model_validate_json(v.model_dump_json()) == v
    assert "note: " + SCRIPT in evidence_text(v.evidence[0])
    from parity.report._examples import example
    assert example(v.evidence[0]).fields == [("note", SCRIPT), ("seen", "3")]
    run = RunRecord.model_validate({"id": "run-1", "fingerprint": "f", "status": "complete",
                                    "created_at": datetime.now(UTC), "parity_version": "0", "seed": 1,
                                    "reference": "ref", "suites": ["toolcall"], "datasets": {}, "config": {}})
    gap = ItemGap(item=SCRIPT, difference=-0.25, answer=SCRIPT)
    html = render_html(run, [v.model_copy(update={"evidence": [*v.evidence, gap]})])
    assert SCRIPT not in html and html.count("&lt;script&gt;") >= 4  # legacy (twice), the item and its answer


def test_typed_evidence_is_left_alone_and_junk_is_refused() -> None:
    gap = ItemGap(item="q1", difference=-0.5)
    assert upgrade_v2(gap) is gap and upgrade_v2(gap.model_dump()) == gap.model_dump()
    try:
        Verdict(endpoint="e", suite="s", verdict=Outcome.PASS, test="t", alpha=0.05, requests=0,
                evidence=[{"kind": "nonsense"}])
    except ValueError as exc:
        assert "kind" in str(exc) or "discriminator" in str(exc)
    else:
        raise AssertionError("an excerpt of an unknown kind validated")


def _exchange(**over: object) -> Exchange:
    fields: dict[str, object] = {
        "run_id": "r", "endpoint": "e", "suite": "s", "case_id": "c", "case_hash": "h", "repeat": 1,
        "status": ExchangeStatus.OK, "http_status": 200, "created_at": datetime.now(UTC),
        "request": {"model": "m", "temperature": 0.5, "tool_choice": "auto",
                    "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x" * 500}],
                    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]},
        "completion": Completion(content="y" * 1000, finish_reason="tool_calls", n_choices=2,
                                 tool_calls=[ToolCall(id="call_1", name="get_weather", arguments="z" * 1000)]),
    }
    fields.update(over)
    return Exchange.model_validate(fields)


def test_an_excerpt_keeps_what_was_asked_and_answered_trimmed() -> None:
    e = excerpt_of(_exchange(), "found " * 200, check="tool_call.invalid_json")
    assert (e.kind, e.case_id, e.repeat, e.check, len(e.message)) == ("exchange", "c", 1, "tool_call.invalid_json", 400)
    assert e.request is not None and e.request.params == {"temperature": 0.5, "tool_choice": "auto"}
    assert e.request.messages == 2 and e.request.tools == ["get_weather"]
    assert e.request.last_message is not None and e.request.last_message.content == "x" * 200
    r = e.response
    assert r.status is ExchangeStatus.OK and r.content == "y" * 300 and r.n_choices == 2
    assert r.tool_calls[0].id == "call_1" and r.tool_calls[0].arguments == "z" * 300
    failed = excerpt_of(_exchange(status=ExchangeStatus.TIMEOUT, http_status=None, completion=None,
                                  error="read timeout " * 50), check="request.timeout")
    assert failed.response.status is ExchangeStatus.TIMEOUT and failed.response.content is None
    assert failed.response.error is not None and len(failed.response.error) == 300
    text = evidence_text(failed)
    assert text.startswith("request.timeout · case c · repeat 1") and "status: timeout" in text

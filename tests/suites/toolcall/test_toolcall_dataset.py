"""parity's own tool-call dataset: size, vocabulary, valid schemas, answers that fit them."""

from __future__ import annotations

import collections
import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator

from parity.case import Case
from parity.suites.toolcall import _make_dataset
from parity.suites.toolcall.dataset import TAGS, builtin_dataset, load_dataset


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return builtin_dataset()


def _tools(case: Case) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in case.tools}


def test_at_least_200_cases_with_unique_ids_and_messages(cases: list[Case]) -> None:
    assert len(cases) >= 200
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.body["messages"][-1]["content"] for c in cases}) == len(cases)
    assert len({c.hash for c in cases}) == len(cases)


def test_tags_come_from_the_vocabulary_and_cover_every_behaviour(cases: list[Case]) -> None:
    counts = collections.Counter(t for c in cases for t in c.tags)
    assert set(counts) == set(TAGS)
    for kind in ("single", "choice", "parallel", "should_not_call", "nested", "enum", "array"):
        assert counts[kind] >= 15, kind
    for c in cases:
        assert ("should_call" in c.tags) != ("should_not_call" in c.tags)


def test_every_tool_schema_is_valid_draft7(cases: list[Case]) -> None:
    for case in cases:
        for fn in _tools(case).values():
            Draft7Validator.check_schema(fn["parameters"])


def test_bodies_stay_small(cases: list[Case]) -> None:
    for case in cases:
        assert 1 <= len(case.tools) <= 3, case.id
        assert case.body["tool_choice"] == "auto"
        assert case.body["max_tokens"] <= 128
        assert len(orjson.dumps(case.body)) < 4000, case.id


def test_expected_answers_fit_the_offered_tools(cases: list[Case]) -> None:
    for case in cases:
        exp = case.expected
        assert exp["should_call"] == ("should_call" in case.tags)
        assert len(exp["tools"]) == len(exp["arguments"])
        assert bool(exp["tools"]) == exp["should_call"]
        assert (len(exp["tools"]) == 2) == ("parallel" in case.tags)
        offered = _tools(case)
        for name, args in zip(exp["tools"], exp["arguments"], strict=True):
            assert name in offered, case.id
            # arguments are partial (only what the message pins down): drop "required"
            schema = copy.deepcopy(offered[name]["parameters"])
            schema.pop("required")
            errors = list(Draft7Validator(schema).iter_errors(args))
            assert not errors, (case.id, errors[0].message)


def test_committed_file_is_what_the_generator_writes() -> None:
    fresh = b"".join(orjson.dumps(c) + b"\n" for c in _make_dataset.build_cases())
    assert _make_dataset.OUTPUT.read_bytes() == fresh
    assert _make_dataset.build_cases() == _make_dataset.build_cases()


def test_load_dataset_reads_jsonl_and_rejects_duplicates(tmp_path: Path) -> None:
    line = {
        "id": "a",
        "tags": ["single"],
        "expected": {"should_call": True},
        "body": {"messages": []},
    }
    path = tmp_path / "d.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n\n")
    [case] = load_dataset(path)
    assert (case.id, case.tags, case.expected) == ("a", ("single",), {"should_call": True})
    path.write_bytes(orjson.dumps(line) + b"\n" + orjson.dumps(line) + b"\n")
    with pytest.raises(ValueError, match="duplicate"):
        load_dataset(path)
    path.write_bytes(b'{"id": "x"}\n')
    with pytest.raises(ValueError, match="body"):
        load_dataset(path)


def test_load_dataset_reads_k2vv_samples_too() -> None:
    path = Path(__file__).parent / "fixtures" / "k2vv_samples.jsonl"
    cases = load_dataset(path)
    assert [c.id for c in cases] == ["k2vv-00001", "custom-7", "k2vv-00004"]
    assert cases[0].expected["source"] == "k2vv"

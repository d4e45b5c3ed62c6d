"""BFCL loading from the installed bfcl-eval wheel's JSON files (its code is never imported)."""

from __future__ import annotations

import importlib.util
import re
import sys
from typing import Any

import pytest
from jsonschema import Draft7Validator

from parity.suites.toolcall.bfcl import (
    bfcl_data_dir,
    bfcl_to_json_schema,
    load_bfcl,
    sanitize_tool_name,
)
from parity.suites.toolcall.bfcl_match import bfcl_match

needs_bfcl = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval wheel not installed"
)
CATEGORIES = ["simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple"]
# Answers that contradict their own function's types; BFCL's checker rejects them too.
UNANSWERABLE = {"parallel_multiple_94": "strings given for sort_list's integer array"}
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_schema_conversion_maps_bfcl_types_recursively() -> None:
    bfcl = {
        "type": "dict",
        "properties": {
            "radius": {"type": "float", "description": "r"},
            "count": {"type": "integer", "optional": True, "default": 1},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "data": {"type": "any"},
            "opts": {
                "type": "dict",
                "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}, "enum": ["a"]}
                },
                "required": ["tags"],
            },
        },
        "required": ["radius"],
    }
    assert bfcl_to_json_schema(bfcl) == {
        "type": "object",
        "properties": {
            "radius": {"type": "number", "description": "r"},
            "count": {"type": "integer", "default": 1},
            "point": {"type": "array", "items": {"type": "number"}},
            "data": {},
            "opts": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "enum": ["a"], "items": {"type": "string"}}
                },
                "required": ["tags"],
            },
        },
        "required": ["radius"],
    }


def test_sanitize_tool_name() -> None:
    assert sanitize_tool_name("math.factorial") == "math_factorial"
    assert sanitize_tool_name("a b/c") == "a_b_c"
    assert len(sanitize_tool_name("x" * 80)) == 64


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown BFCL category"):
        load_bfcl("multi_turn_base")


@needs_bfcl
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_loads_with_valid_schemas(category: str) -> None:
    cases = load_bfcl(category)
    assert len(cases) > 0
    assert len({c.id for c in cases}) == len(cases)
    for case in cases:
        exp = case.expected
        assert exp["category"] == category and exp["bfcl_id"] == case.id
        assert exp["should_call"] == (category != "irrelevance")
        names = [t["function"]["name"] for t in case.tools]
        assert set(names) == set(exp["name_map"])
        assert all(OPENAI_NAME.match(n) for n in names)
        assert set(exp["tools"]) <= set(names)
        for tool in case.tools:
            Draft7Validator.check_schema(tool["function"]["parameters"])
            assert tool["function"]["parameters"]["type"] == "object"
        assert case.body["messages"][-1]["role"] == "user"
        assert ("should_call" in case.tags) == exp["should_call"]


@needs_bfcl
def test_limit_and_dotted_names_map_back() -> None:
    cases = load_bfcl("simple", limit=3)
    assert [c.id for c in cases] == ["simple_python_0", "simple_python_1", "simple_python_2"]
    assert cases[1].expected["name_map"] == {"math_factorial": "math.factorial"}
    assert cases[1].expected["tools"] == ["math_factorial"]
    assert (bfcl_data_dir() / "possible_answer").is_dir()
    assert "bfcl_eval" not in sys.modules  # data read, code never imported


def _concrete(value: Any) -> Any:
    """A value from BFCL's answer format: a dict answer maps each key to its options."""
    if isinstance(value, dict):
        return _first_answer(value)
    if isinstance(value, list):
        return [_concrete(v) for v in value]
    return value


def _first_answer(possible: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's first acceptable value; a parameter whose options are all '' is left out."""
    out: dict[str, Any] = {}
    for key, options in possible.items():
        options = options if isinstance(options, list) else [options]
        chosen = [o for o in options if o != ""]
        if chosen:
            out[key] = _concrete(chosen[0])
    return out


@needs_bfcl
@pytest.mark.parametrize("category", CATEGORIES)
def test_the_ground_truth_itself_matches(category: str) -> None:
    """Self-consistency of loader and matcher: BFCL's own answers must pass.

    BFCL data quirks are stepped around where BFCL's own checker fails its own answer
    too: an answer may list a parameter its function does not declare (parallel_multiple_12:
    left out of the call here), a required parameter may have no acceptable value at all
    (live_simple_106-63-0), or the answer may contradict the declared type (`UNANSWERABLE`).
    """
    checked = 0
    for case in load_bfcl(category):
        exp = case.expected
        if case.id in UNANSWERABLE or any(
            opts == []
            for answer in exp["possible_answers"]
            for p in answer.values()
            for opts in p.values()
        ):
            continue
        declared = {f["name"]: f["parameters"].get("properties", {}) for f in exp["functions"]}
        back = {orig: safe for safe, orig in exp["name_map"].items()}
        calls = [
            (back[name], {k: v for k, v in _first_answer(params).items() if k in declared[name]})
            for answer in exp["possible_answers"]
            for name, params in answer.items()
        ]
        result = bfcl_match(category, list(reversed(calls)), exp)
        assert result.ok, (case.id, result.reason)
        checked += 1
    assert checked >= 0.95 * len(load_bfcl(category))

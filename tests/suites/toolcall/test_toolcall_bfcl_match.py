"""BFCL's AST-checker rules, one positive and one negative case per rule, no BFCL data needed."""

from __future__ import annotations

from typing import Any

import pytest

from parity.suites.toolcall.bfcl_match import bfcl_match, standardize_string

AREA = {
    "name": "geometry.area_circle",
    "parameters": {
        "type": "dict",
        "properties": {
            "radius": {"type": "float"},
            "units": {"type": "string"},
            "precision": {"type": "integer"},
            "round": {"type": "boolean"},
        },
        "required": ["radius"],
    },
}
SIMPLE: dict[str, Any] = {
    "name_map": {"geometry_area_circle": "geometry.area_circle"},
    "functions": [AREA],
    "possible_answers": [
        {
            "geometry.area_circle": {
                "radius": [10.0],
                "units": ["meters", "m", ""],
                "precision": [2, ""],
            }
        }
    ],
}


def _simple(args: dict[str, Any], name: str = "geometry_area_circle") -> tuple[bool, str | None]:
    result = bfcl_match("simple", [(name, args)], SIMPLE)
    return result.ok, result.reason


def test_exact_answer_passes() -> None:
    assert _simple({"radius": 10.0, "units": "meters", "precision": 2}) == (True, None)


def test_optional_parameter_may_be_left_out_only_when_marked_with_empty_string() -> None:
    assert _simple({"radius": 10.0})[0]
    spec = {
        **SIMPLE,
        "possible_answers": [{"geometry.area_circle": {"radius": [10.0], "units": ["meters"]}}],
    }
    result = bfcl_match("simple", [("geometry_area_circle", {"radius": 10.0})], spec)
    assert not result.ok and result.reason is not None and result.reason.startswith("missing_param")


def test_missing_required_and_unknown_parameters_fail() -> None:
    ok, reason = _simple({"units": "m"})
    assert not ok and reason == "missing_required: 'radius'"
    ok, reason = _simple({"radius": 10.0, "colour": "red"})
    assert not ok and reason == "unexpected_param: 'colour'"
    # declared by the function but absent from the answer: BFCL fails it too
    ok, reason = _simple({"radius": 10.0, "round": True})
    assert not ok and reason == "unexpected_param: 'round'"


def test_strings_are_standardised() -> None:
    assert standardize_string("April 1, 2024") == standardize_string("april 1 2024")
    assert standardize_string("New-York_City.") == "newyorkcity"
    assert _simple({"radius": 10.0, "units": " Meters. "})[0]
    assert _simple({"radius": 10.0, "units": "M"})[0]
    ok, reason = _simple({"radius": 10.0, "units": "feet"})
    assert not ok and reason is not None and reason.startswith("value_error: 'units'")


def test_int_is_accepted_for_float_but_not_the_reverse() -> None:
    assert _simple({"radius": 10})[0]
    ok, reason = _simple({"radius": 10.0, "precision": 2.0})
    assert not ok and reason is not None and reason.startswith("type_error: 'precision'")
    ok, reason = _simple({"radius": "10"})
    assert not ok and reason is not None and reason.startswith("type_error: 'radius'")


def test_bool_is_never_a_number() -> None:
    spec = {
        **SIMPLE,
        "possible_answers": [{"geometry.area_circle": {"radius": [1.0], "round": [True]}}],
    }
    assert bfcl_match("simple", [("geometry_area_circle", {"radius": 1, "round": True})], spec).ok
    assert not bfcl_match("simple", [("geometry_area_circle", {"radius": True})], spec).ok


def test_wrong_function_name_and_count_fail() -> None:
    ok, reason = _simple({"radius": 10.0}, name="area_square")
    assert not ok and reason is not None and reason.startswith("wrong_func_name")
    two = [("geometry_area_circle", {"radius": 10.0})] * 2
    result = bfcl_match("simple", two, SIMPLE)
    assert not result.ok and result.reason == "wrong_count: expected 1 call(s), got 2"
    assert not bfcl_match("simple", [], SIMPLE).ok


def test_original_dotted_name_is_accepted_too() -> None:
    assert _simple({"radius": 10.0}, name="geometry.area_circle")[0]


NESTED: dict[str, Any] = {
    "functions": [
        {
            "name": "book",
            "parameters": {
                "type": "dict",
                "properties": {
                    "guests": {"type": "array", "items": {"type": "string"}},
                    "point": {"type": "tuple", "items": {"type": "float"}},
                    "room": {
                        "type": "dict",
                        "properties": {"beds": {"type": "integer"}, "view": {"type": "string"}},
                    },
                    "stops": {"type": "array", "items": {"type": "dict"}},
                },
                "required": ["guests"],
            },
        }
    ],
    "possible_answers": [
        {
            "book": {
                "guests": [["Ana Lopez", "li wei"]],
                "point": [[1.5, 2.0], ""],
                "room": [{"beds": [2], "view": ["sea", ""]}, ""],
                "stops": [[{"city": ["Rome"]}, {"city": ["Pisa"]}], ""],
            }
        }
    ],
}


@pytest.mark.parametrize(
    ("args", "ok"),
    [
        ({"guests": ["ana lopez", "Li Wei"]}, True),
        ({"guests": ["Li Wei", "Ana Lopez"]}, False),  # list order matters
        ({"guests": ["Ana Lopez"]}, False),
        ({"guests": ["Ana Lopez", "Li Wei"], "point": [1.5, 2]}, True),  # int in a float list
        ({"guests": ["Ana Lopez", "Li Wei"], "point": [1.5, 2.5]}, False),
        ({"guests": ["Ana Lopez", "Li Wei"], "room": {"beds": 2}}, True),  # optional dict key
        ({"guests": ["Ana Lopez", "Li Wei"], "room": {"beds": 2, "view": "Sea"}}, True),
        ({"guests": ["Ana Lopez", "Li Wei"], "room": {"view": "sea"}}, False),  # required dict key
        ({"guests": ["Ana Lopez", "Li Wei"], "room": {"beds": 2, "pool": True}}, False),
        ({"guests": ["Ana Lopez", "Li Wei"], "room": {"beds": 2.0}}, False),  # float for integer
        ({"guests": ["Ana Lopez", "Li Wei"], "stops": [{"city": "rome"}, {"city": "PISA"}]}, True),
        ({"guests": ["Ana Lopez", "Li Wei"], "stops": [{"city": "Pisa"}, {"city": "Rome"}]}, False),
    ],
)
def test_lists_and_dicts_compare_recursively(args: dict[str, Any], ok: bool) -> None:
    assert bfcl_match("simple", [("book", args)], NESTED).ok is ok


def test_variable_names_stand_for_values_of_another_type() -> None:
    spec: dict[str, Any] = {
        "functions": [
            {
                "name": "train",
                "parameters": {"type": "dict", "properties": {"data": {"type": "dict"}}},
            }
        ],
        "possible_answers": [{"train": {"data": ["my_data"]}}],
    }
    assert bfcl_match("simple", [("train", {"data": "my_data"})], spec).ok
    assert not bfcl_match("simple", [("train", {"data": "other"})], spec).ok


WEATHER = {
    "name": "weather.get",
    "parameters": {
        "type": "dict",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TIME = {
    "name": "time.get",
    "parameters": {
        "type": "dict",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PARALLEL: dict[str, Any] = {
    "name_map": {"weather_get": "weather.get", "time_get": "time.get"},
    "functions": [WEATHER, TIME],
    "possible_answers": [
        {"weather.get": {"city": ["Paris", "Paris, France"], "days": [3, ""]}},
        {"weather.get": {"city": ["Paris", "Lyon"]}},
        {"time.get": {"city": ["Tokyo"]}},
    ],
}


def test_parallel_calls_match_in_any_order_one_to_one() -> None:
    calls = [
        ("time_get", {"city": "tokyo"}),
        ("weather_get", {"city": "Lyon"}),
        ("weather_get", {"city": "Paris"}),
    ]
    assert bfcl_match("parallel_multiple", calls, PARALLEL).ok
    # the first Paris call could take either weather answer; a greedy pairing that gives it
    # answer 1 leaves 'Lyon' without one -- a full matching finds the assignment
    calls = [
        ("weather_get", {"city": "Paris"}),
        ("weather_get", {"city": "Lyon"}),
        ("time_get", {"city": "Tokyo"}),
    ]
    assert bfcl_match("parallel", calls, PARALLEL).ok


def test_parallel_calls_cannot_share_one_answer() -> None:
    calls = [
        ("weather_get", {"city": "Lyon"}),
        ("weather_get", {"city": "Lyon"}),
        ("time_get", {"city": "Tokyo"}),
    ]
    result = bfcl_match("parallel", calls, PARALLEL)
    assert not result.ok and result.reason is not None and result.reason.startswith("no_match")
    result = bfcl_match("parallel", calls[:2], PARALLEL)
    assert not result.ok and result.reason == "wrong_count: expected 3 call(s), got 2"
    wrong = [
        ("weather_get", {"city": "Paris"}),
        ("weather_get", {"city": "Lyon"}),
        ("time_get", {"city": "Oslo"}),
    ]
    result = bfcl_match("parallel", wrong, PARALLEL)
    assert not result.ok and result.reason is not None and "value_error: 'city'" in result.reason


def test_multiple_category_checks_the_one_expected_call() -> None:
    spec = {**PARALLEL, "possible_answers": [PARALLEL["possible_answers"][2]]}
    assert bfcl_match("multiple", [("time_get", {"city": "Tokyo"})], spec).ok
    assert not bfcl_match("multiple", [("weather_get", {"city": "Tokyo"})], spec).ok


def test_irrelevance_passes_only_without_calls() -> None:
    assert bfcl_match("irrelevance", [], {"functions": [WEATHER]}).ok
    result = bfcl_match(
        "irrelevance", [("weather_get", {"city": "Paris"})], {"functions": [WEATHER]}
    )
    assert not result.ok and result.reason == "irrelevance: expected no call, got 1"
    assert bfcl_match("live_irrelevance", [], {}).ok

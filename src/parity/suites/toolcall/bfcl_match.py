"""BFCL's AST-checker rules, reimplemented as one pure function.

BFCL judges a single-turn answer by comparing the decoded calls with a list of
acceptable values per parameter. The rules below follow its
``eval_checker/ast_eval/ast_checker.py`` (read, not imported: importing it
drags in every model handler BFCL has):

* the call count must equal the number of expected calls; the function name
  must match (sanitised names are mapped back through ``expected["name_map"]``);
* every required parameter must be present; a parameter that the function does
  not declare, or that the answer does not list, fails;
* each value must equal one of the possible answers; a parameter absent from
  the call is fine only when its possible answers contain ``""``;
* strings compare after BFCL's standardisation: lower case, the characters
  `` ,./-_*^`` removed, ``'`` read as ``"``; lists and dicts compare element
  by element with the same rule; a dict answer maps each key to its own list
  of possible values;
* types follow the function's BFCL types; an int is accepted for a float, a
  float is not accepted for an integer, a bool is never a number; a value of
  the type of the possible answers is accepted when those are variable names;
* parallel categories match calls to answers one-to-one in any order;
* irrelevance categories pass exactly when no call was made.

Deliberate differences: BFCL pairs parallel calls greedily, which can miss an
assignment that exists -- here a full bipartite matching is used; BFCL checks
nested types one level deep and rejects ints inside float arrays -- here types
are checked at every depth and ints are floats everywhere (JSON writers do not
keep ``1.0`` apart from ``1``); BFCL's ``any`` means "string" in its checker --
here it constrains nothing, as in the JSON Schema `load_bfcl` sends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MatchResult", "bfcl_match", "standardize_string"]

_STRIP = re.compile(r"[ ,./\-_*^]")
_STRINGS = {"string", "str", "char"}
_INTEGERS = {"integer", "int", "long"}
_FLOATS = {"float", "number", "double"}
_BOOLS = {"boolean", "bool"}
_LISTS = {"array", "list", "tuple"}
_DICTS = {"dict", "object"}

Call = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Whether the calls answer the case, and if not, the first reason found."""

    ok: bool
    reason: str | None = None


def standardize_string(text: str) -> str:
    """BFCL's string normal form, so 'April 1, 2024' equals 'april 1 2024'."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def _type_ok(value: Any, spec: dict[str, Any]) -> bool:
    t = spec.get("type")
    if t in _STRINGS:
        return isinstance(value, str)
    if t in _INTEGERS:
        return isinstance(value, int) and not isinstance(value, bool)
    if t in _FLOATS:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t in _BOOLS:
        return isinstance(value, bool)
    if t in _LISTS:
        items = spec.get("items")
        if not isinstance(value, list):
            return False
        return not isinstance(items, dict) or all(_type_ok(v, items) for v in value)
    if t in _DICTS:
        props = spec.get("properties")
        if not isinstance(value, dict):
            return False
        if not isinstance(props, dict):
            return True
        return all(
            _type_ok(v, props[k]) for k, v in value.items() if isinstance(props.get(k), dict)
        )
    return True  # "any" or a type BFCL never uses


def _options(possible: Any) -> list[Any]:
    return possible if isinstance(possible, list) else [possible]


def _equal(value: Any, answer: Any) -> bool:
    if isinstance(answer, str):
        return isinstance(value, str) and standardize_string(value) == standardize_string(answer)
    if isinstance(answer, bool) or isinstance(value, bool):
        return isinstance(answer, bool) and isinstance(value, bool) and value == answer
    if isinstance(answer, int | float):
        return isinstance(value, int | float) and value == answer
    if isinstance(answer, list):
        return (
            isinstance(value, list)
            and len(value) == len(answer)
            and all(_equal(v, a) for v, a in zip(value, answer, strict=True))
        )
    if isinstance(answer, dict):
        if not isinstance(value, dict):
            return False
        if any(k not in answer or not _one_of(v, _options(answer[k])) for k, v in value.items()):
            return False
        return all(k in value or "" in _options(p) for k, p in answer.items())
    return bool(value == answer)


def _one_of(value: Any, possible: Sequence[Any]) -> bool:
    return any(_equal(value, a) for a in possible)


def _check_param(name: str, value: Any, possible: list[Any], spec: dict[str, Any]) -> str | None:
    if not _type_ok(value, spec):
        # BFCL writes a variable the user named (`my_data`) as a string answer.
        # It is one only when the answer itself is not of the declared type.
        typed = [a for a in possible if a != ""]
        shallow = {"type": spec.get("type")}
        if not typed or _type_ok(typed[0], shallow) or type(typed[0]) is not type(value):
            return f"type_error: {name!r} expected {spec.get('type')}, got {type(value).__name__}"
    if not _one_of(value, possible):
        return f"value_error: {name!r} = {value!r}, expected one of {possible!r}"
    return None


def _check_call(call: Call, answer: dict[str, Any], functions: dict[str, Any]) -> str | None:
    """None when the call matches this one expected call, else why not."""
    name, args = call
    expected_name, possible = next(iter(answer.items()))
    if name != expected_name:
        return f"wrong_func_name: expected {expected_name!r}, got {name!r}"
    if not isinstance(args, dict):
        return "arguments_not_object"
    params = (functions.get(expected_name) or {}).get("parameters") or {}
    declared: dict[str, Any] = params.get("properties") or {}
    for required in params.get("required") or []:
        if required not in args:
            return f"missing_required: {required!r}"
    for param, value in args.items():
        if param not in declared or param not in possible:
            return f"unexpected_param: {param!r}"
        reason = _check_param(param, value, _options(possible[param]), declared[param])
        if reason:
            return reason
    for param, options in possible.items():
        if param not in args and "" not in _options(options):
            return f"missing_param: {param!r} has no default in the possible answers"
    return None


def _assign(fits: list[list[bool]]) -> bool:
    """A perfect matching of answers (rows) to calls (columns) exists (Kuhn's algorithm)."""
    owner: dict[int, int] = {}

    def place(row: int, seen: set[int]) -> bool:
        for col, fit in enumerate(fits[row]):
            if fit and col not in seen:
                seen.add(col)
                if col not in owner or place(owner[col], seen):
                    owner[col] = row
                    return True
        return False

    return all(place(row, set()) for row in range(len(fits)))


def _unordered(
    calls: list[Call], answers: list[dict[str, Any]], functions: dict[str, Any]
) -> MatchResult:
    reasons = [[_check_call(c, a, functions) for c in calls] for a in answers]
    for i, row in enumerate(reasons):
        failures = [r for r in row if r is not None]
        if len(failures) == len(row):
            closest = next(
                (r for r in failures if not r.startswith("wrong_func_name")), failures[0]
            )
            return MatchResult(
                False, f"no_match: expected call {i} ({next(iter(answers[i]))}): {closest}"
            )
    if not _assign([[r is None for r in row] for row in reasons]):
        return MatchResult(False, "no_match: no one-to-one assignment of calls to expected calls")
    return MatchResult(True)


def bfcl_match(category: str, calls: list[Call], expected: dict[str, Any]) -> MatchResult:
    """Judge decoded calls ``[(name, arguments)]`` against a case's ``expected`` (from `load_bfcl`)."""
    if "irrelevance" in category:
        if calls:
            return MatchResult(False, f"irrelevance: expected no call, got {len(calls)}")
        return MatchResult(True)
    name_map: dict[str, str] = expected.get("name_map") or {}
    functions = {f["name"]: f for f in expected.get("functions") or [] if isinstance(f, dict)}
    answers: list[dict[str, Any]] = expected.get("possible_answers") or []
    named = [(name_map.get(name, name), args) for name, args in calls]
    if len(named) != len(answers):
        return MatchResult(False, f"wrong_count: expected {len(answers)} call(s), got {len(named)}")
    if "parallel" in category:
        return _unordered(named, answers, functions)
    for i, (call, answer) in enumerate(zip(named, answers, strict=True)):
        reason = _check_call(call, answer, functions)
        if reason:
            return MatchResult(False, reason if len(answers) == 1 else f"call {i}: {reason}")
    return MatchResult(True)

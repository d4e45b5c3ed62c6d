"""Gemma 4's argument syntax, as its official template renders it (tests/families/templates).

The template writes argument keys verbatim (``key:value``, no quotes), strings
between ``<|"|>`` quotes, booleans as ``true``/``false``, ``None`` as
``None``, and nests objects and lists the same way.
"""

from __future__ import annotations

from typing import Any

import pytest
from families.fixtures import CASES, emit

from parity.families import find_call_leak
from parity.families._parsers import gemma4, gemma_arguments

GEMMA = next(c for c in CASES if c.family == "gemma4")

ARGUMENTS: list[dict[str, Any]] = [
    {"2fa_code": "123456", "max-results": 10, "user_id": 7, "_private": True},  # digits, '-', '_' in keys
    {"città": "Zürich", "with space": "a b", "Key.Dotted": "x", "CAPS": False},  # any characters but ':'
    {"filter": {"date-range": ["2024-01-01", "2025-12-31"], "n_1": 3, "ok": True, "none": None,
                "deep": {"a-b": [{"c_d": 1.5}, {"e-2": [[], {}]}]}}},  # nested values, lists of objects
    {"text": "colons: commas, {braces} [brackets] and 'quotes\\\"", "neg": -3, "exp": 1e-05},
    {"None": "a key named None", "true": 1, "empty": "", "list": ["x", 2, None, True]},
    {},
]


@pytest.mark.parametrize("args", ARGUMENTS, ids=[",".join(a)[:40] or "empty" for a in ARGUMENTS])
def test_rendered_arguments_round_trip(args: dict[str, Any]) -> None:
    text = emit(GEMMA, [("get_weather", args)])
    assert "<|tool_call>call:get_weather{" in text  # really the template's syntax
    (parsed,) = gemma4(text)
    assert parsed.name == "get_weather" and parsed.arguments == args
    leak = find_call_leak(text, {"get_weather"})
    assert leak is not None and leak.family == "gemma4" and leak.calls[0].arguments == args


def test_parallel_calls_with_awkward_keys() -> None:
    calls = [("get_weather", {"2fa": "x", "a-b": {"c_1": [1, 2]}}), ("get_time", {"tz-name": "UTC"})]
    assert [(c.name, c.arguments) for c in gemma4(emit(GEMMA, calls))] == calls


@pytest.mark.parametrize("body", ['{a:<|"|>open', "{a:1", "{a:1}x", "{:}", "{a}", "{a:[1,}", "{a:,}", "x",
                                  "{" * 5000 + "}" * 5000])
def test_malformed_arguments_are_none(body: str) -> None:
    assert gemma_arguments(body) is None

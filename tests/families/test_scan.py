"""The registry's scanning helpers, its typing of arguments, and its public surface."""

from __future__ import annotations

import parity.families
from parity.families import (
    coerce_arguments,
    coerce_value,
    ends_in_marker_start,
    family,
    find_call_leak,
    marker_at,
    split_prose,
    starts_bare,
)


def test_exports() -> None:
    assert sorted(parity.families.__all__) == sorted([
        "FAMILIES", "LONGEST_MARKER", "MAX_SCAN", "SPECIAL_TOKENS", "SPECIAL_TOKEN_RE", "CallLeak",
        "DelimiterLeak", "Family", "ParsedCall", "Parser", "TemplateError", "coerce_arguments", "coerce_value",
        "emitted", "ends_in_delimiter_start", "ends_in_marker_start", "family", "find_call_leak",
        "find_delimiter_leak", "marker_at", "render", "split_prose", "starts_bare"])
    for name in parity.families.__all__:
        assert hasattr(parity.families, name)


def test_marker_at_finds_the_first_marker_only_where_one_is() -> None:
    assert marker_at("plain prose, no markers at all") == -1
    assert marker_at("a < b and [1] and x<y") == -1
    text = "see [x] then <tool_call>{...} and [TOOL_CALLS]"
    assert marker_at(text) == text.index("<tool_call>")
    assert marker_at(text, text.index("<tool_call>") + 1) == text.index("[TOOL_CALLS]")
    assert marker_at("call to=functions.get_weather now") == 5


def test_bare_start_and_partial_markers() -> None:
    assert starts_bare('  {"a": 1}') and starts_bare("```json\n[1]") and not starts_bare("x {")
    assert ends_in_marker_start("Let me check <tool_") and ends_in_marker_start("ok [TOOL")
    assert not ends_in_marker_start("Let me check the weather.")


def test_family_lookup_by_name_and_alias() -> None:
    assert family("QWEN3").name == "qwen3" and family("hermes").name == "qwen3"  # type: ignore[union-attr]
    assert family("harmony").name == "gpt-oss" and family(None) is None and family("nope") is None  # type: ignore[union-attr]


def test_coercion_follows_the_schema_only() -> None:
    schema = {"properties": {"n": {"type": "integer"}, "s": {"type": "string"}, "b": {"type": "boolean"},
                             "o": {"type": "object"}, "any": {}}}
    got = coerce_arguments({"n": "3", "s": 42, "b": "True", "o": '{"k": [1]}', "any": "7", "extra": "x"}, schema)
    assert got == {"n": 3, "s": "42", "b": True, "o": {"k": [1]}, "any": "7", "extra": "x"}
    assert coerce_value("three", {"type": "integer"}) == "three"  # left for the schema check to refuse
    assert coerce_value(None, {"type": "string"}) == "null" and coerce_value(True, {"type": "string"}) == "true"


def test_prose_and_reasoning_before_a_call_are_split() -> None:
    qwen, harmony = family("qwen3"), family("gpt-oss")
    assert qwen is not None and harmony is not None
    assert split_prose("<think>\nplan\n</think>\n\nLet me check.\n", qwen) == ("plan", "Let me check.")
    assert split_prose("<think>\n\n</think>\n\n", qwen) == (None, None)
    head = "<|channel|>analysis<|message|>plan<|end|><|start|>assistant"
    assert split_prose(head, harmony) == ("plan", None)


def test_hostile_input_is_bounded_and_never_raises() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert find_call_leak(deep, {"f"}) is None
    assert find_call_leak("<tool_call>" * 20000, {"f"}) is None
    assert find_call_leak('{"name": "f", "arguments": ' + "[" * 3000 + "]" * 3000 + "}", {"f"}) is None
    assert find_call_leak("<|tool_call>call:f{" + "a:{" * 2000 + "}" * 2000 + "<tool_call|>") is not None  # token

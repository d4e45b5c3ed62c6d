from __future__ import annotations

import pytest

from parity.checks import (
    FINISH_MISMATCH,
    INVALID_JSON,
    MARKUP_IN_CONTENT,
    SCHEMA_MISMATCH,
    UNKNOWN_NAME,
    SchemaCache,
    check_tool_calls,
)
from parity.exchange import Completion, ToolCall

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"]}}}]


def checks(calls: list[ToolCall], finish: str | None = "tool_calls", content: str | None = None) -> list[str]:
    c = Completion(tool_calls=calls, finish_reason=finish, content=content)
    return [f.check for f in check_tool_calls(TOOLS, c, SchemaCache())]


def call(name: str | None = "get_weather", args: str = '{"city": "Paris"}') -> ToolCall:
    return ToolCall(name=name, arguments=args)


def test_valid_call_has_no_findings() -> None:
    assert checks([call()]) == []
    assert checks([], finish="stop", content="It is sunny.") == []


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (call(args='{"city": "Par'), INVALID_JSON),
        (call(args="city=Paris"), INVALID_JSON),
        (call(name="get_wether"), UNKNOWN_NAME),
        (call(name=None), UNKNOWN_NAME),
        (call(args='{"town": "Paris"}'), SCHEMA_MISMATCH),
        (call(args='{"city": 3}'), SCHEMA_MISMATCH),
        (call(args='{"city": "Paris", "unit": "kelvin"}'), SCHEMA_MISMATCH),
        (call(args='"Paris"'), SCHEMA_MISMATCH),
    ],
)
def test_each_error_class(c: ToolCall, expected: str) -> None:
    assert checks([c]) == [expected]


def test_schema_message_is_readable() -> None:
    c = Completion(tool_calls=[call(args='{"city": "P", "unit": "kelvin"}')], finish_reason="tool_calls")
    (f,) = check_tool_calls(TOOLS, c, SchemaCache())
    assert "$.unit" in f.message and "kelvin" in f.message


def test_finish_reason_consistency() -> None:
    assert checks([call()], finish="stop") == [FINISH_MISMATCH]
    assert checks([], finish="tool_calls") == [FINISH_MISMATCH]


@pytest.mark.parametrize(
    "content",
    [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0",
        '[TOOL_CALLS][{"name": "get_weather"}]',
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    ],
)
def test_markup_left_in_content(content: str) -> None:
    assert checks([], finish="stop", content=content) == [MARKUP_IN_CONTENT]


def test_end_of_turn_token_is_not_a_call() -> None:
    # A stray <|im_end|> is text.special_token's business, not a dropped call.
    assert checks([], finish="stop", content="Sure<|im_end|>") == []


def test_schema_cache_compiles_once_per_schema() -> None:
    cache = SchemaCache()
    schema = TOOLS[0]["function"]["parameters"]
    v1 = cache.validator(schema)
    assert cache.validator(schema) is v1
    assert cache.validator(dict(schema)) is v1  # equal schema in another object


def test_draft_is_configurable() -> None:
    with pytest.raises(ValueError, match="unknown JSON Schema draft"):
        SchemaCache("draft99")
    assert SchemaCache("draft2020-12").is_valid({"type": "object"}, {})

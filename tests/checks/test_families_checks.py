"""The family-driven checks on completions: markup_in_content and reasoning.delimiter_leak."""

from __future__ import annotations

import json

from families.fixtures import CASES, OFFERED, emit

from parity.checks import (
    DELIMITER_LEAK,
    MARKUP_IN_CONTENT,
    SchemaCache,
    check_markup,
    check_reasoning_delimiters,
    check_tool_calls,
)
from parity.checks.text import check_special_tokens
from parity.exchange import Completion, ToolCall
from parity.families import FAMILIES, SPECIAL_TOKEN_RE, SPECIAL_TOKENS

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PARIS = [("get_weather", {"city": "Paris", "days": 3})]


def _case(name: str) -> object:
    return next(c for c in CASES if c.family == name)


def test_each_family_leak_in_content_is_named() -> None:
    for case in CASES:
        c = Completion(content=emit(case, PARIS), finish_reason="stop")
        (f,) = check_markup(c, OFFERED)
        assert f.check == MARKUP_IN_CONTENT and f.detail["family"] == case.family
        assert f.detail["field"] == "content" and f.detail["calls"] == ["get_weather"]


def test_leak_in_reasoning_content_is_flagged_too() -> None:
    for case in CASES:
        if case.family in ("llama3", "llama4"):
            continue  # bare formats count only as the whole answer
        c = Completion(content="", reasoning_content="I will call it.\n" + emit(case, PARIS))
        fields = [f.detail["field"] for f in check_markup(c, OFFERED)]
        assert fields == ["reasoning_content"], case.template


def test_correct_parse_is_never_flagged() -> None:
    text = '</tool_call> <tool_call>{"name": "get_weather", "arguments": {}}</tool_call> <|tool_call_begin|>'
    call = ToolCall(name="get_weather", arguments=json.dumps({"city": text}))
    c = Completion(content=None, tool_calls=[call], finish_reason="tool_calls")
    assert check_tool_calls(TOOLS, c, SchemaCache()) == []
    assert check_reasoning_delimiters(c) == []


def test_json_in_a_final_answer_is_not_a_call() -> None:
    shaped = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert check_markup(Completion(content=shaped)) == []  # no tools offered: just JSON
    assert check_markup(Completion(content=shaped), {"other_tool"}) == []
    assert check_markup(Completion(content="Here it is: " + shaped), {"get_weather"}) == []
    (f,) = check_markup(Completion(content=shaped), {"get_weather"})
    assert f.detail["family"] in ("llama3", "generic")


def test_prose_about_markup_is_not_a_call() -> None:
    for text in ("Wrap calls in <tool_call></tool_call>.", "Use <function=name> to call.",
                 "The DeepSeek format starts with a begin token.", "[link](https://example.com)"):
        assert check_markup(Completion(content=text), OFFERED) == []


def test_unparsed_control_token_is_still_a_leak() -> None:
    # a call cut short by max_tokens: no complete call to parse, but the token cannot be prose
    (f,) = check_markup(Completion(content="<|tool_calls_section_begin|><|tool_call_begin|>functions.get_we"))
    assert f.detail["family"] == "kimi-k2" and f.detail["calls"] == []


def test_declared_family_names_the_delimiter_first() -> None:
    text = emit(_case("qwen3"), PARIS, reasoning=True)  # type: ignore[arg-type]
    c = Completion(content=text)
    (f,) = check_reasoning_delimiters(c, "qwen3")
    assert f.check == DELIMITER_LEAK and f.detail["families"][0] == "qwen3"
    (g,) = check_reasoning_delimiters(c, "deepseek-v3.1")
    assert g.detail["families"][0] == "deepseek-v3.1"


def test_delimiters_in_reasoning_content_are_flagged() -> None:
    c = Completion(content="Sunny.", reasoning_content="<think>\nThe user wants Paris.\n</think>")
    (f,) = check_reasoning_delimiters(c)
    assert f.detail == {**f.detail, "field": "reasoning_content", "delimiter": "<think>"}
    assert check_reasoning_delimiters(Completion(content="Sunny.", reasoning_content="The user wants Paris.")) == []


def test_harmony_without_special_tokens_is_caught() -> None:
    # a server that drops special tokens leaves "analysis…assistantfinal…" run together
    c = Completion(content="analysisThe user asks for Paris.assistantfinalIt is sunny.")
    (f,) = check_reasoning_delimiters(c, "gpt-oss")
    assert f.detail["delimiter"] == "assistantfinal"


def test_every_family_special_token_is_a_special_token() -> None:
    for fam in FAMILIES:
        for token in fam.special_tokens:
            found = [f.detail["token"] for f in check_special_tokens(f"Done.{token}")]
            assert found and all(t in token for t in found), (fam.name, token)


def test_one_token_table_for_families_and_formats_without_an_entry() -> None:
    """The shared shapes (ChatML-like bars, DeepSeek's full-width bars, Llama 2 and Gemma 2-3
    tokens) live with the families' own tokens: the check finds exactly what the table does."""
    text = "a<end_of_turn>b<|im_end|>c<｜User｜>d<unk>e[INST]f]~b]g<|turn>h"
    found = [f.detail["token"] for f in check_special_tokens(text)]
    assert found == [m.group(0) for m in SPECIAL_TOKEN_RE.finditer(text)]
    assert found == ["<end_of_turn>", "<|im_end|>", "<｜User｜>", "<unk>", "[INST]", "]~b]", "<|turn>"]
    assert set(SPECIAL_TOKENS) == {t for f in FAMILIES for t in f.special_tokens}


def test_check_tool_calls_takes_the_declared_family() -> None:
    text = emit(_case("deepseek-v3.1"), PARIS)  # type: ignore[arg-type]
    c = Completion(content=text, finish_reason="stop")
    (f,) = [f for f in check_tool_calls(TOOLS, c, SchemaCache(), declared_family="deepseek-v3.1")
            if f.check == MARKUP_IN_CONTENT]
    assert f.detail["family"] == "deepseek-v3.1" and "DeepSeek V3.1" in f.message

"""Pure conformance checks over single completions."""

from __future__ import annotations

from parity.checks import SchemaCache
from parity.checks.conformance import (
    FINISH_INCONSISTENT,
    FINISH_MISSING,
    FINISH_NOT_LENGTH,
    JSON_OUTPUT_INVALID,
    JSON_OUTPUT_MISMATCH,
    LOGPROBS_MISSING,
    LOGPROBS_NOT_ARGMAX,
    LOGPROBS_TEXT_MISMATCH,
    MAX_TOKENS_EXCEEDED,
    N_IGNORED,
    STOP_IGNORED,
    TOOL_CALL_ID,
    TOOL_CHOICE_IGNORED,
    USAGE_INCONSISTENT,
    USAGE_MISSING,
    call_signature,
    check_finish_invariants,
    check_json_output,
    check_logprobs,
    check_max_tokens,
    check_n,
    check_stop,
    check_tool_call_ids,
    check_tool_choice,
    check_usage,
)
from parity.exchange import Completion, ToolCall


def c(**kw: object) -> Completion:
    return Completion.model_validate(kw)


CALL = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')


def names(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.check for f in findings]


def test_finish_invariants() -> None:
    assert names(check_finish_invariants(c(content="hi"))) == [FINISH_MISSING]
    assert names(check_finish_invariants(c(tool_calls=[CALL], finish_reason="stop"))) == [FINISH_INCONSISTENT]
    assert names(check_finish_invariants(c(content="x", finish_reason="tool_calls"))) == [FINISH_INCONSISTENT]
    assert check_finish_invariants(c(tool_calls=[CALL], finish_reason="length")) == []
    assert check_finish_invariants(c(tool_calls=[CALL], finish_reason="tool_calls")) == []


def test_max_tokens() -> None:
    used = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    assert check_max_tokens(c(content="Once", finish_reason="length", usage=used), 1) == []
    assert names(check_max_tokens(c(content="Once", finish_reason="stop", usage=used), 1)) == [FINISH_NOT_LENGTH]
    over = {**used, "completion_tokens": 30}
    assert names(check_max_tokens(c(content="long", finish_reason="stop", usage=over), 8)) == [
        MAX_TOKENS_EXCEEDED, FINISH_NOT_LENGTH]
    early = {**used, "completion_tokens": 3}
    assert check_max_tokens(c(content="Hi.", finish_reason="stop", usage=early), 8) == []


def test_tool_choice() -> None:
    called = c(tool_calls=[CALL], finish_reason="tool_calls")
    silent = c(content="Sunny.", finish_reason="stop")
    assert names(check_tool_choice("none", called)) == [TOOL_CHOICE_IGNORED]
    assert check_tool_choice("none", silent) == [] and check_tool_choice("auto", silent) == []
    assert names(check_tool_choice("required", silent)) == [TOOL_CHOICE_IGNORED]
    named = {"type": "function", "function": {"name": "get_stock_price"}}
    assert names(check_tool_choice(named, called)) == [TOOL_CHOICE_IGNORED]
    assert check_tool_choice({"type": "function", "function": {"name": "get_weather"}}, called) == []


def test_tool_call_ids() -> None:
    assert check_tool_call_ids([CALL, ToolCall(id="functions.get_weather:1", name="x")]) == []
    assert names(check_tool_call_ids([ToolCall(id=None, name="x")])) == [TOOL_CALL_ID]
    assert names(check_tool_call_ids([ToolCall(id="call 1!", name="x")])) == [TOOL_CALL_ID]
    assert names(check_tool_call_ids([CALL, CALL])) == [TOOL_CALL_ID]


def test_call_signature_ignores_key_order_keeps_raw() -> None:
    a = ToolCall(name="f", arguments='{"a": 1, "b": 2}')
    b = ToolCall(name="f", arguments='{"b":2,"a":1}')
    assert call_signature([a]) == call_signature([b])
    assert call_signature([ToolCall(name="f", arguments='{"a": 1')]) == [("f", 'raw:{"a": 1')]


def test_stop_and_n() -> None:
    assert names(check_stop(c(content="one two three"), ["two"])) == [STOP_IGNORED]
    assert check_stop(c(content="one "), ["two"]) == []
    assert names(check_n(c(content="x", n_choices=1), 2)) == [N_IGNORED]
    assert check_n(c(content="x", n_choices=2), 2) == []


def test_logprobs() -> None:
    good = [{"token": "Hi", "logprob": -0.1, "top_logprobs": [{"token": "Hi", "logprob": -0.1}]},
            {"token": " there", "logprob": -0.2, "top_logprobs": [{"token": " there", "logprob": -0.2}]}]
    assert check_logprobs(c(content="Hi there", logprobs={"content": good}), greedy=True) == []
    assert names(check_logprobs(c(content="Hi"), greedy=True)) == [LOGPROBS_MISSING]
    worse = [{**good[0], "top_logprobs": [{"token": "Hello", "logprob": -0.01}]}, good[1]]
    assert names(check_logprobs(c(content="Hi there", logprobs={"content": worse}), greedy=True)) == [
        LOGPROBS_NOT_ARGMAX]
    assert check_logprobs(c(content="Hi there", logprobs={"content": worse}), greedy=False) == []
    assert names(check_logprobs(c(content="Hi 中文 there", logprobs={"content": good}), greedy=True)) == [
        LOGPROBS_TEXT_MISMATCH]


def test_json_output() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    cache = SchemaCache()
    assert check_json_output(c(content='{"n": 3}'), schema, cache) == []
    assert check_json_output(c(content='```json\n{"n": 3}\n```'), schema, cache) == []
    assert names(check_json_output(c(content="Paris is nice"), schema, cache)) == [JSON_OUTPUT_INVALID]
    assert names(check_json_output(c(content='{"n": "three"}'), schema, cache)) == [JSON_OUTPUT_MISMATCH]


def test_usage() -> None:
    assert names(check_usage(c(content="x"))) == [USAGE_MISSING]
    assert check_usage(c(usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})) == []
    bad = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 9}
    assert names(check_usage(c(usage=bad))) == [USAGE_INCONSISTENT]

"""Every registry entry against its family's official chat template, rendered.

The raw text is what the model emits for an assistant turn with tool calls
(and reasoning, where the template writes it): a server whose parser fails
passes exactly that through as content. Recall must be 100% on these
renderings, the recovered calls must round-trip to the calls rendered, and the
family's plain final answers must never be taken for calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from families.fixtures import CASES, OFFERED, SCHEMAS, TEMPLATES, Case, answer, arg_sets, emit

from parity.families import FAMILIES, coerce_arguments, family, find_call_leak, find_delimiter_leak

RENDERED = [(case, label, calls) for case in CASES for label, calls in arg_sets(case)]


def _id(item: tuple[Case, str, Any]) -> str:
    return f"{item[0].template.removesuffix('.jinja')}-{item[1]}"


def test_every_family_has_a_template_and_every_template_a_case() -> None:
    on_disk = {p.name for p in TEMPLATES.glob("*.jinja")}
    cased = {c.template for c in CASES}
    assert cased == on_disk
    for fam in FAMILIES:
        assert set(fam.templates) <= on_disk, fam.name
        if fam.name != "generic":
            assert {c.family for c in CASES if c.template in fam.templates} == {fam.name}
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)


@pytest.mark.parametrize("item", RENDERED, ids=[_id(i) for i in RENDERED])
def test_raw_call_is_recognised_and_round_trips(item: tuple[Case, str, list[tuple[str, dict[str, Any]]]]) -> None:
    case, _, calls = item
    text = emit(case, calls, reasoning=case.reasoning)
    leak = find_call_leak(text, OFFERED)
    assert leak is not None, text
    assert leak.family == case.family
    got = [(c.name, coerce_arguments(c.arguments, SCHEMAS[c.name])) for c in leak.calls]
    assert got == calls


@pytest.mark.parametrize("item", RENDERED, ids=[_id(i) for i in RENDERED])
def test_declared_family_is_tried_first_and_others_still_detected(
    item: tuple[Case, str, list[tuple[str, dict[str, Any]]]],
) -> None:
    case, _, calls = item
    text = emit(case, calls)
    own = find_call_leak(text, OFFERED, family(case.family))
    assert own is not None and own.family == case.family
    other = next(f for f in FAMILIES if f.name not in (case.family, "generic") and not f.bare)
    detected = find_call_leak(text, OFFERED, other)
    assert detected is not None and detected.family == case.family


@pytest.mark.parametrize("case", [c for c in CASES if c.reasoning], ids=lambda c: c.template)
def test_reasoning_delimiters_of_the_turn_are_recognised(case: Case) -> None:
    text = emit(case, [("get_weather", {"city": "Paris", "days": 3})], reasoning=True)
    assert "should call get_weather" in text  # the template did write the reasoning
    leak = find_delimiter_leak(text, family(case.family))
    assert leak is not None
    assert leak.delimiter in family(case.family).delimiters  # type: ignore[union-attr]
    assert leak.families[0] == case.family


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.template)
def test_final_answer_is_not_a_call(case: Case) -> None:
    for content in ("It is sunny in Paris, 21 degrees.",
                    '{"name": "Paris", "arguments": ["sunny", 21]}',
                    '[{"city": "Paris", "forecast": "sunny"}]',
                    '{"name": "get_forecast", "arguments": {"city": "Paris"}}',  # not offered
                    "Use <tool_call> tags to call tools; I did not call any."):
        text = answer(case, content)
        assert find_call_leak(text, OFFERED, family(case.family)) is None, text


def test_recall_over_all_renderings_is_complete() -> None:
    found = sum(1 for case, _, calls in RENDERED
                if (leak := find_call_leak(emit(case, calls), OFFERED)) is not None
                and leak.family == case.family and len(leak.calls) == len(calls))
    assert found == len(RENDERED) and len(RENDERED) >= 70


def test_llama3_builtin_tool_call_after_python_tag() -> None:
    case = Case("meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3", kwargs={"builtin_tools": ["brave_search"]})
    text = emit(case, [("brave_search", {"query": "Paris weather"})])
    assert text.startswith("<|python_tag|>")
    leak = find_call_leak(text)  # a control token: no offered tools needed
    assert leak is not None and leak.family == "llama3"
    assert [(c.name, c.arguments) for c in leak.calls] == [("brave_search", {"query": "Paris weather"})]

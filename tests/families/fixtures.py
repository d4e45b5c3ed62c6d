"""Conversations rendered through each family's official template (tests/families/templates).

Each ``Case`` says which template, which registry entry it should be
recognised as, and what the template can express (parallel calls, reasoning
in the turn it emits, typed or nested values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.families import emitted

TEMPLATES = Path(__file__).parent / "templates"

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}, "days": {"type": "integer"},
            "opts": {"type": "object"}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "The time now.",
        "parameters": {"type": "object", "properties": {}}}},
]
OFFERED = frozenset({"get_weather", "get_time"})
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
REASONING = "The user wants Paris; I should call get_weather."


@dataclass(frozen=True)
class Case:
    template: str
    family: str
    parallel: bool = True
    reasoning: bool = False  # the template writes reasoning into the turn the model emits
    nested: bool = True  # objects and unicode survive the template
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES: tuple[Case, ...] = (
    Case("moonshotai-Kimi-K2.jinja", "kimi-k2"),
    Case("Kimi-K2-Thinking.jinja", "kimi-k2", reasoning=True),
    Case("Kimi-K3.jinja", "kimi-k3", reasoning=True, kwargs={"thinking": True}),
    Case("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-v3"),
    Case("deepseek-ai-DeepSeek-V3.1.jinja", "deepseek-v3.1", kwargs={"thinking": True}),
    Case("deepseek-ai-DeepSeek-V3.2.jinja", "deepseek-v3.2", reasoning=True, kwargs={"thinking": True}),
    Case("deepseek-ai-DeepSeek-V4.jinja", "deepseek-v4", reasoning=True, kwargs={"thinking": True}),
    Case("GLM-4.6.jinja", "glm", reasoning=True),
    Case("GLM-4.7-Flash.jinja", "glm", reasoning=True),
    Case("openai-gpt-oss-120b.jinja", "gpt-oss", parallel=False, reasoning=True),
    Case("Qwen-Qwen3-0.6B.jinja", "qwen3", reasoning=True, kwargs={"enable_thinking": True}),
    Case("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "qwen3"),
    Case("Qwen3-Coder.jinja", "qwen3-coder"),
    Case("MiniMax-M2.jinja", "minimax-m2", reasoning=True),
    Case("MiniMax-M1.jinja", "minimax-m1"),
    Case("mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral"),
    Case("Mistral-Small-3.2-24B-Instruct-2506.jinja", "mistral"),
    Case("google-gemma-4-31B-it.jinja", "gemma4", reasoning=True),
    Case("meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3", parallel=False),
    Case("meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3", parallel=False),
    Case("vllm-llama4-pythonic.jinja", "llama4", nested=False),
)

# Argument sets: (name, arguments) per call; ids are Mistral-valid (9 alphanumerics).
PLAIN = [("get_weather", {"city": "Paris", "days": 3})]
NESTED = [("get_weather", {"city": "Zürich 東京 \"quoted\"", "days": 2,
                           "opts": {"units": "metric", "hours": [6, 12], "alerts": True}})]
NO_ARGS = [("get_time", {})]
PARALLEL = [("get_weather", {"city": "Paris", "days": 3}), ("get_weather", {"city": "Oslo", "days": 1})]


def assistant(calls: list[tuple[str, dict[str, Any]]], reasoning: bool = False) -> dict[str, Any]:
    msg: dict[str, Any] = {"content": "", "tool_calls": [
        {"id": f"call{i:04d}a", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)]}
    if reasoning:
        msg["reasoning_content"] = REASONING
        msg["thinking"] = REASONING  # gpt-oss's template reads this field
    return msg


def emit(case: Case, calls: list[tuple[str, dict[str, Any]]], reasoning: bool = False) -> str:
    source = (TEMPLATES / case.template).read_text(encoding="utf-8")
    return emitted(source, "What is the weather in Paris?", assistant(calls, reasoning), TOOLS,
                   **case.kwargs)


def answer(case: Case, content: str) -> str:
    """A final answer with no call, as the template writes it."""
    source = (TEMPLATES / case.template).read_text(encoding="utf-8")
    return emitted(source, "What is the weather in Paris?", {"content": content}, TOOLS, **case.kwargs)


def arg_sets(case: Case) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    sets = [("plain", PLAIN), ("no_args", NO_ARGS)]
    if case.nested:
        sets.append(("nested", NESTED))
    if case.parallel:
        sets.append(("parallel", PARALLEL))
    return sets

"""Generate parity's own tool-call dataset, ``data/parity_toolcall.jsonl``.

Regenerate with ``python -m parity.suites.toolcall._make_dataset``; the output
is a pure function of `SEED` and the data in `_dataset_tools` and
`_dataset_intents`, so the committed file can be checked against a fresh run.

Why a dataset of our own next to K2VV and BFCL: K2VV's prompts are long
multi-turn agent transcripts (thousands of tokens) and BFCL's function docs are
verbose; neither fits the 2k-token context of the small models the testbed
serves. These cases are short, cover each tool-call behaviour separately
(tagged, so a failure points at a behaviour), and say what a correct answer is.

Each line: ``{"id", "tags", "expected", "body"}``. ``expected`` is
``{"should_call": bool, "tools": [names], "arguments": [{...}]}`` with one
arguments object per expected call, in the order of ``tools`` (the order of
parallel calls is not significant); each holds only the arguments the message
makes unambiguous, so a correct call may carry more, and string values should
be compared leniently (case, punctuation). The tag vocabulary is `TAGS` in
``dataset.py``.
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path
from typing import Any

import orjson

from parity.suites.toolcall._dataset_intents import (
    CHIT_CHAT,
    INTENTS,
    JOINERS,
    OUT_OF_SCOPE,
    SAME_TOOL_PAIRS,
    SLOTS,
    Intent,
)
from parity.suites.toolcall._dataset_tools import CONFUSABLE, TOOLS

SEED = 20250301
SYSTEM = "You are a helpful assistant. Call a tool only when it is needed to answer."
MAX_TOKENS = 128
OUTPUT = Path(__file__).parent / "data" / "parity_toolcall.jsonl"

# Messages that touch a tool's domain but ask for nothing it does.
NEAR_MISS: list[tuple[str, str]] = [
    ("get_weather", "I love how quickly the weather changes in spring."),
    ("send_email", "Emails are so overwhelming these days, aren't they?"),
    ("get_stock_quote", "In general, is it wise to invest in index funds?"),
    ("translate_text", "I'm learning Spanish. Any tips for remembering vocabulary?"),
    ("get_directions", "I always get lost in new cities, haha."),
    ("set_reminder", "I keep forgetting things lately. Is that normal?"),
    ("convert_units", "Why does the US still use miles instead of kilometers?"),
    ("find_places", "What makes a restaurant good, in your opinion?"),
    ("search_flights", "Do you prefer window or aisle seats?"),
    ("read_file", "What's a good way to organise my notes?"),
    ("get_news", "Do you think people read too much news?"),
    ("create_event", "How do you stay on top of a busy schedule?"),
]

_EXACT = re.compile(r"\{(\w+)(?:\[(\w+)\])?\}")


def _fields(template: str) -> list[str]:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    return sorted({f.split("[")[0] for f in names})


def _draw(rng: random.Random, templates: list[str]) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    needed = sorted({f for t in templates for f in _fields(t)}, key=lambda f: (f.endswith("2"), f))
    for name in needed:
        if name.endswith("2"):  # a second, different value from the same pool
            slots[name] = rng.choice([v for v in SLOTS[name[:-1]] if v != slots[name[:-1]]])
        else:
            slots[name] = rng.choice(SLOTS[name])
    return slots


def _fill(obj: Any, slots: dict[str, Any]) -> Any:
    if isinstance(obj, str):
        exact = _EXACT.fullmatch(obj)
        if exact:
            value = slots[exact[1]]
            return value[exact[2]] if exact[2] else value
        return obj.format(**slots)
    if isinstance(obj, dict):
        return {k: _fill(v, slots) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(v, slots) for v in obj]
    return obj


def _arg_tags(tool: str, args: dict[str, Any]) -> set[str]:
    params = TOOLS[tool]["function"]["parameters"]
    tags: set[str] = set()
    for key in args:
        spec = params["properties"][key]
        if "enum" in spec:
            tags.add("enum")
        if spec.get("type") == "array":
            tags.add("array")
        if spec.get("type") == "object":
            tags.add("nested")
        if key not in params["required"]:
            tags.add("optional_param")
    return tags


def _case(
    case_id: str, kind: str, message: str, tools: list[str], calls: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    tags = {"should_call" if calls else "should_not_call", kind}
    for tool, args in calls:
        tags |= _arg_tags(tool, args)
    if calls and "optional_param" not in tags:
        tags.add("required_only")
    body: dict[str, Any] = {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": message}],
        "tools": [TOOLS[t] for t in tools],
        "tool_choice": "auto",
        "temperature": 0.0,
        "max_tokens": MAX_TOKENS,
    }
    if len(calls) > 1:
        body["parallel_tool_calls"] = True
    expected = {
        "should_call": bool(calls),
        "tools": [t for t, _ in calls],
        "arguments": [a for _, a in calls],
    }
    return {"id": case_id, "tags": sorted(tags), "expected": expected, "body": body}


class _Unique:
    """Draws phrasings until one not used before comes up: no two cases share a message."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def intent(self, intent: Intent) -> tuple[str, dict[str, Any]] | None:
        for _ in range(50):
            template = self.rng.choice(intent.templates)
            slots = _draw(self.rng, [template])
            text = template.format(**slots)
            if text not in self.seen:
                self.seen.add(text)
                return text, _fill(intent.args, slots)
        return None


def _lower_first(text: str) -> str:
    return text if text.startswith("I ") else text[0].lower() + text[1:]


def build_cases(seed: int = SEED) -> list[dict[str, Any]]:
    """Every case, in file order: single, choice, parallel, then the no-call kinds."""
    rng = random.Random(seed)
    draw = _Unique(rng)
    out: list[dict[str, Any]] = []

    def add(
        kind: str, message: str, tools: list[str], calls: list[tuple[str, dict[str, Any]]]
    ) -> None:
        number = sum(1 for c in out if c["id"].startswith(kind + "-")) + 1
        out.append(_case(f"{kind}-{number:03d}", kind, message, tools, calls))

    for kind, per_intent in (("single", 3), ("choice", 2)):
        for intent in INTENTS:
            for _ in range(per_intent):
                drawn = draw.intent(intent)
                if drawn is None:
                    continue
                tools = (
                    [intent.tool] if kind == "single" else [intent.tool, *CONFUSABLE[intent.tool]]
                )
                rng.shuffle(tools)
                add(kind, drawn[0], tools, [(intent.tool, drawn[1])])

    for tool, template, first, second in SAME_TOOL_PAIRS:
        for _ in range(5):
            slots = _draw(rng, [template])
            text = template.format(**slots)
            if text in draw.seen:
                continue
            draw.seen.add(text)
            tools = [tool, CONFUSABLE[tool][0]]
            rng.shuffle(tools)
            add(
                "parallel", text, tools, [(tool, _fill(first, slots)), (tool, _fill(second, slots))]
            )
    while sum(c["id"].startswith("parallel-") for c in out) < 50:
        one, two = rng.sample(INTENTS, 2)
        if one.tool == two.tool:
            continue
        a, b = draw.intent(one), draw.intent(two)
        if a is None or b is None:
            continue
        joiner = rng.choice(JOINERS)
        text = joiner.format(a=a[0], b=b[0] if joiner.startswith("Two") else _lower_first(b[0]))
        tools = [one.tool, two.tool, CONFUSABLE[one.tool][0]]
        tools = list(dict.fromkeys(tools))
        rng.shuffle(tools)
        add("parallel", text, tools, [(one.tool, a[1]), (two.tool, b[1])])

    names = sorted(TOOLS)
    for kind, messages in (("chit_chat", CHIT_CHAT), ("out_of_scope", OUT_OF_SCOPE)):
        for message in messages:
            add(kind, message, rng.sample(names, rng.randint(1, 3)), [])
    for tool, message in NEAR_MISS:
        add("near_miss", message, [tool, rng.choice([n for n in names if n != tool])], [])
    return out


def main() -> None:
    """Write the dataset next to this module."""
    cases = build_cases()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in cases))
    print(f"wrote {len(cases)} cases to {OUTPUT}")


if __name__ == "__main__":
    main()

"""Berkeley Function-Calling Leaderboard (BFCL) test cases as parity Cases.

BFCL's single-turn categories have known answers, so they measure tool-call
*accuracy* on top of the reference-vs-candidate comparisons. Only the JSON data
shipped in the ``bfcl-eval`` wheel is read (``bfcl_eval/data/BFCL_v4_*.json``,
JSON lines despite the name, and ``possible_answer/`` beside them); BFCL's code
is never imported -- importing it pulls in its whole model-handler stack.

BFCL describes parameters in its own dialect (``dict``, ``float``, ``tuple``,
``any``); OpenAI-compatible endpoints want JSON Schema, and names matching
``^[a-zA-Z0-9_-]{1,64}$`` (BFCL has ``math.factorial``). Both are converted
here, and the original function docs and a name map are kept in ``expected``
so `bfcl_match` can judge answers by BFCL's own types and names.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import orjson

from parity.case import Case

__all__ = [
    "BFCL_CATEGORIES",
    "BFCLUnavailable",
    "bfcl_data_dir",
    "bfcl_to_json_schema",
    "load_bfcl",
    "sanitize_tool_name",
]

# Category -> file stem under bfcl_eval/data. "simple" is BFCL's Python set.
BFCL_CATEGORIES: dict[str, str] = {
    "simple": "simple_python",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
    "live_simple": "live_simple",
    "live_multiple": "live_multiple",
    "live_parallel": "live_parallel",
    "live_parallel_multiple": "live_parallel_multiple",
    "live_irrelevance": "live_irrelevance",
}

# BFCL type -> JSON Schema type; None means no constraint ("any").
_TYPES: dict[str, str | None] = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "double": "number",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "string": "string",
    "str": "string",
    "char": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "any": None,
}

# JSON Schema keywords carried over as they are. BFCL's own "optional" is
# dropped: it is not JSON Schema, and "required" already says the same.
_KEPT = ("description", "enum", "default", "format", "minimum", "maximum", "minItems", "maxItems")

_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]")


class BFCLUnavailable(RuntimeError):
    """The bfcl-eval wheel (which carries the data) is not installed."""


def bfcl_data_dir() -> Path:
    """``bfcl_eval/data`` of the installed wheel, found without importing bfcl_eval."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BFCLUnavailable("--dataset bfcl: needs BFCL's data, which is not installed: "
                              "pip install 'parity[bfcl]' (or, lighter, pip install --no-deps bfcl-eval)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def sanitize_tool_name(name: str) -> str:
    """An OpenAI-acceptable function name: BFCL's own rule ('.' -> '_'), extended to any
    character outside ``[a-zA-Z0-9_-]``, cut to 64 characters."""
    return _NAME_OK.sub("_", name)[:64] or "_"


def bfcl_to_json_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter description as JSON Schema, recursively."""
    out: dict[str, Any] = {}
    bfcl_type = spec.get("type")
    if isinstance(bfcl_type, str):
        mapped = _TYPES.get(bfcl_type)
        if mapped is not None:
            out["type"] = mapped
    for key in _KEPT:
        if key in spec:
            out[key] = spec[key]
    props = spec.get("properties")
    if isinstance(props, dict):
        out["properties"] = {
            k: bfcl_to_json_schema(v) if isinstance(v, dict) else {} for k, v in props.items()
        }
    items = spec.get("items")
    if isinstance(items, dict):
        out["items"] = bfcl_to_json_schema(items)
    required = spec.get("required")
    if isinstance(required, list) and required:
        out["required"] = [r for r in required if isinstance(r, str)]
    return out


def _tools(functions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    tools: list[dict[str, Any]] = []
    name_map: dict[str, str] = {}
    for fn in functions:
        name = sanitize_tool_name(fn["name"])
        while name in name_map:  # two BFCL names that sanitise alike must stay apart
            name = name[:62] + "_2"
        name_map[name] = fn["name"]
        params = bfcl_to_json_schema(fn.get("parameters") or {})
        params["type"] = "object"  # BFCL says "dict"; OpenAI insists on "object"
        params.setdefault("properties", {})
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": fn.get("description", ""),
                    "parameters": params,
                },
            }
        )
    return tools, name_map


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                rows.append(orjson.loads(line))
    return rows


def _tags(category: str, should_call: bool, n_tools: int, n_calls: int) -> tuple[str, ...]:
    tags = ["bfcl", category, "should_call" if should_call else "should_not_call"]
    if n_tools > 1:
        tags.append("choice")
    if n_calls > 1:
        tags.append("parallel")
    return tuple(tags)


def load_bfcl(
    category: str,
    limit: int | None = None,
    *,
    temperature: float = 0.0,
    max_tokens: int = 256,
    data_dir: Path | None = None,
) -> list[Case]:
    """The first ``limit`` cases of a BFCL category, in file order.

    ``expected`` holds ``category``, ``bfcl_id``, ``should_call``, ``tools``
    (the sanitised names of the expected calls), ``possible_answers`` (BFCL's
    ground truth, original names), ``functions`` (BFCL's docs, for its types)
    and ``name_map`` (sanitised -> original).
    """
    if category not in BFCL_CATEGORIES:
        raise ValueError(f"unknown BFCL category {category!r}; known: {sorted(BFCL_CATEGORIES)}")
    root = data_dir or bfcl_data_dir()
    filename = f"BFCL_v4_{BFCL_CATEGORIES[category]}.json"
    rows = _read_jsonl(root / filename)
    if limit is not None:
        rows = rows[:limit]
    answer_path = root / "possible_answer" / filename
    answers = (
        {a["id"]: a["ground_truth"] for a in _read_jsonl(answer_path)}
        if answer_path.exists()
        else {}
    )
    should_call = "irrelevance" not in category
    cases: list[Case] = []
    for row in rows:
        turns = row["question"]
        if len(turns) != 1:
            raise ValueError(f"{row['id']}: multi-turn BFCL entries are not supported")
        tools, name_map = _tools(row["function"])
        ground_truth: list[dict[str, Any]] = answers.get(row["id"], []) if should_call else []
        if should_call and not ground_truth:
            raise ValueError(f"{row['id']}: no possible answer in {answer_path}")
        back = {orig: safe for safe, orig in name_map.items()}
        expected: dict[str, Any] = {
            "source": "bfcl",
            "category": category,
            "bfcl_id": row["id"],
            "should_call": should_call,
            "tools": [back.get(next(iter(call)), next(iter(call))) for call in ground_truth],
            "possible_answers": ground_truth,
            "functions": row["function"],
            "name_map": name_map,
        }
        body: dict[str, Any] = {
            "messages": turns[0],
            "tools": tools,
            "tool_choice": "auto",
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        tags = _tags(category, should_call, len(tools), len(ground_truth))
        cases.append(Case(id=row["id"], body=body, expected=expected, tags=tags))
    return cases

"""Few-shot variants of tool-call cases, for models too small to call tools zero-shot.

SmolLM2-135M (the testbed's model) almost never emits a tool call from the
tool list alone. Shown a conversation in which the assistant already called
the same tool for similar requests, it does -- sometimes, noisily, which is
what a verifier should be measured against. Each case gets ``shots`` worked
examples (user ask, assistant tool call, tool result, assistant reply) taken
from *other* cases of the dataset that call one of its tools, so no case sees
its own answer. Sampling is at ``temperature`` with a per-repeat seed chosen
by the suite (common random numbers across endpoints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from parity.case import Case


def _examples(cases: Sequence[Case]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Tool name -> (user message, arguments) of single-call cases with known arguments."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for c in cases:
        tools, args = c.expected.get("tools") or [], c.expected.get("arguments") or []
        if len(tools) == 1 and len(args) == 1 and isinstance(args[0], dict) and args[0]:
            user = next((m["content"] for m in reversed(c.body["messages"]) if m.get("role") == "user"), None)
            if isinstance(user, str):
                out.setdefault(tools[0], []).append((user, args[0]))
    return out


def _history(name: str, shots: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    for i, (user, args) in enumerate(shots):
        call_id = f"call_ex{i}"
        msgs += [
            {"role": "user", "content": user},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": name, "arguments": orjson.dumps(args).decode()}}]},
            {"role": "tool", "tool_call_id": call_id, "content": '{"status": "ok"}'},
            {"role": "assistant", "content": "Done."},
        ]
    return msgs


def with_examples(
    cases: Sequence[Case], *, shots: int = 2, temperature: float = 0.8, max_tokens: int = 48
) -> list[Case]:
    """The same cases, each preceded by worked tool-call examples from other cases."""
    pool = _examples(cases)
    out: list[Case] = []
    for case in cases:
        names = [t["function"]["name"] for t in case.tools]
        wanted = (case.expected.get("tools") or names)[:1] or names[:1]
        name = next((n for n in wanted if pool.get(n)), next((n for n in names if pool.get(n)), None))
        msgs = list(case.body["messages"])
        if name is not None:
            own = next((m["content"] for m in reversed(msgs) if m.get("role") == "user"), None)
            shots_for = [s for s in pool[name] if s[0] != own][:shots]
            at = 1 if msgs and msgs[0].get("role") == "system" else 0
            msgs = msgs[:at] + _history(name, shots_for) + msgs[at:]
        body = {**case.body, "messages": msgs, "temperature": temperature, "max_tokens": max_tokens}
        out.append(Case(id=f"{case.id}+fewshot", body=body, expected=case.expected,
                        tags=(*case.tags, "fewshot")))
    return out

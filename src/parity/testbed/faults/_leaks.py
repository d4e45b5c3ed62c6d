"""Leaks of a model family's own syntax into ``content``: a call its server failed to parse,
or reasoning it failed to split off.

The call text is rendered with the family's official chat template (a
directory of them is given in the config, e.g. the repository's
tests/families/templates), so the leak is exactly what that model emits; the
reasoning delimiters come from the family registry. Without templates only
the Hermes/Qwen3 form is available, written as the Qwen3 template writes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.families import Family, TemplateError, emitted

FILLER_REASONING = "The user asked a question; I will think about it before answering."


@dataclass(frozen=True)
class Leak:
    """The family a faulted request leaks, and its template's source if one was found."""

    family: Family
    template: str | None


def load_template(family: Family, templates_dir: str | None) -> str | None:
    """The first of the family's official templates found in ``templates_dir``."""
    if templates_dir is None:
        return None
    for name in family.templates:
        path = Path(templates_dir) / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _arguments(text: str) -> Any:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _strip_end(text: str, family: Family) -> str:
    """Without the end-of-turn token: servers stop on it and do not send it."""
    text = text.rstrip()
    for token in sorted(family.special_tokens, key=len, reverse=True):
        if text.endswith(token):
            return text[: -len(token)].rstrip()
    return text


def _hermes(calls: list[dict[str, Any]]) -> str:
    # The Qwen3 template's tool-call block, for a proxy run without a templates directory.
    blocks = [json.dumps({"name": c["function"]["name"], "arguments": _arguments(c["function"].get("arguments"))},
                         ensure_ascii=False) for c in calls]
    return "\n".join(f"<tool_call>\n{b}\n</tool_call>" for b in blocks)


def render_call_text(leak: Leak, request: dict[str, Any], calls: list[dict[str, Any]]) -> str:
    """The raw text ``leak.family``'s model emits for ``calls``."""
    if leak.template is None:
        return _hermes(calls)
    # ids as the model writes them (Mistral's templates insist on 9 alphanumerics)
    parsed = [{**c, "id": hashlib.sha256(str(c.get("id")).encode()).hexdigest()[:9],
               "function": {**c["function"], "arguments": _arguments(c["function"].get("arguments"))}}
              for c in calls]
    message = {"content": "", "tool_calls": parsed}
    question = next((m.get("content") for m in reversed(request.get("messages") or [])
                     if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str)), "")
    try:
        text = emitted(leak.template, question or "", message, request.get("tools"))
    except TemplateError:  # e.g. Llama 3.1's template refuses parallel calls: leak the first alone
        text = emitted(leak.template, question or "", {**message, "tool_calls": parsed[:1]}, request.get("tools"))
    return _strip_end(text, leak.family)


def leak_call(response: dict[str, Any], request: dict[str, Any], leak: Leak) -> None:
    """Drop the calls and leave them as the family's raw text in content, finish_reason stop."""
    choice = response["choices"][0]
    message = choice["message"]
    calls = message.pop("tool_calls", None) or []
    raw = render_call_text(leak, request, calls)
    message["content"] = "\n".join([*([message["content"]] if message.get("content") else []), raw])
    choice["finish_reason"] = "stop"


def leak_reasoning(response: dict[str, Any], leak: Leak) -> bool:
    """Reasoning wrapped in the family's delimiters, left at the start of content."""
    pairs = [p for p in leak.family.reasoning if p[1]]
    if not pairs:
        return False
    opener, closer = next((p for p in pairs if p[0]), pairs[0])
    message = response["choices"][0]["message"]
    reasoning = message.pop("reasoning_content", None) or FILLER_REASONING
    message["content"] = f"{opener}{reasoning}{closer}{message.get('content') or ''}"
    return True

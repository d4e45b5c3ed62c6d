"""Request faults: what a misconfigured server does to a request before the model sees it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_KEEP_ROLES = frozenset({"system", "developer"})


def override_sampling(body: dict[str, Any], server_sampling: Mapping[str, float]) -> bool:
    """Replace the client's sampling parameters by the server's, as some providers do."""
    body.update(server_sampling)
    return bool(server_sampling)


def _chars(message: Mapping[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    return 0


def truncate_context(body: dict[str, Any], budget_chars: int) -> bool:
    """Keep the end of a long conversation, as a server that truncates from the left.

    System messages stay (servers truncate the conversation, not the
    instructions); the earliest other messages go first, then the start of the
    earliest one left. The upstream then counts, and reports in
    ``usage.prompt_tokens``, only what is left -- as a truncating server would.
    Prompts within the budget are left alone.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or sum(_chars(m) for m in messages) <= budget_chars:
        return False
    # System messages move ahead of the rest; in practice they are already there.
    kept = [m for m in messages if m.get("role") in _KEEP_ROLES]
    rest = [m for m in messages if m.get("role") not in _KEEP_ROLES]
    system_chars = sum(_chars(m) for m in kept)
    allowance = max(budget_chars - system_chars, budget_chars // 4)
    while len(rest) > 1 and sum(_chars(m) for m in rest) > allowance:
        rest.pop(0)
    first = rest[0] if rest else None
    if first is not None and isinstance(first.get("content"), str):
        over = sum(_chars(m) for m in rest) - allowance
        if over > 0:
            rest[0] = {**first, "content": first["content"][over:]}
    truncated = kept + rest
    body["messages"] = truncated
    return truncated != messages

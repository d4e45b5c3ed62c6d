"""The finish_reason invariant, in one place (FAILURE-MODES row 5).

Tool calls present <=> a call finish (``tool_calls``, or the legacy ``function_call``);
a generation cut off by its token limit may end with calls and say ``length``. Used by
the tool-call checks (every answer, offline and in the gateway) and by the conformance
probes, which additionally require finish_reason to be present.
"""

from __future__ import annotations

from parity.exchange import Completion

LENGTH_FINISHES = frozenset({"length", "max_tokens"})
CALL_FINISHES = frozenset({"tool_calls", "function_call"})


def finish_mismatch(c: Completion) -> str | None:
    """Why ``c``'s finish_reason contradicts its tool calls, or None if it does not."""
    fr = c.finish_reason
    if c.tool_calls and fr not in CALL_FINISHES | LENGTH_FINISHES:
        return f"{len(c.tool_calls)} tool call(s) but finish_reason {fr!r}"
    if not c.tool_calls and fr in CALL_FINISHES:
        return f"finish_reason {fr!r} but no tool calls"
    return None

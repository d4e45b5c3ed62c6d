"""In-flight validation: the verifier's own checks, run on every routed answer."""

from __future__ import annotations

from typing import Any

from parity.checks import ERROR_CLASSES, Finding, SchemaCache, check_call, tool_index
from parity.exchange import Completion


class ToolValidator:
    """Checks tool calls against the request's own ``tools`` (invalid JSON, unknown name, schema)."""

    def __init__(self, draft: str = "draft7") -> None:
        self.schemas = SchemaCache(draft)

    def check(self, tools: list[dict[str, Any]] | None, completion: Completion) -> list[Finding]:
        if not completion.tool_calls:
            return []
        index = tool_index(tools or [])
        findings: list[Finding] = []
        for call in completion.tool_calls:
            # Only the endpoint's faults count: a request schema that does not compile is the client's.
            findings.extend(f for f in check_call(call, index, self.schemas) if f.check in ERROR_CLASSES)
        return findings


def summarize(findings: list[Finding]) -> str:
    return "; ".join(f"{f.check}: {f.message}" for f in findings)[:500]


def is_empty(completion: Completion) -> bool:
    """An answer with nothing in it: no text, no reasoning, no call, and the model said it stopped."""
    return (not completion.content and not completion.reasoning_content and not completion.tool_calls
            and completion.finish_reason == "stop")

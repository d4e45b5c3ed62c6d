"""From Exchanges (or K2VV result lines) to per-request observations.

An Observation is the little a tool-call verdict needs to know about one
answer; metrics and tests are computed over lists of them, so the same code
scores parity's own runs and K2VV's result files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from parity.case import Case
from parity.checks import (
    ERROR_CLASSES,
    FINISH_MISMATCH,
    MARKUP_IN_CONTENT,
    Finding,
    SchemaCache,
    check_tool_calls,
    load_arguments,
)
from parity.exchange import Exchange, ToolCall

from .bfcl_match import Call, bfcl_match

# What counts as a tool-call error for the error-rate test.
TOOLCALL_ERRORS = (*ERROR_CLASSES, FINISH_MISMATCH, MARKUP_IN_CONTENT)


@dataclass(frozen=True, slots=True)
class Observation:
    key: str  # pairs observations of the same case across endpoints
    repeat: int
    ok: bool  # the request returned a chat completion
    called: bool  # the answer made at least one tool call
    finish: str | None
    n_calls: int
    errors: frozenset[str]  # check names found (tool-call checks only)
    calls_valid: int  # calls without invalid_json / unknown_name / schema_mismatch
    bfcl_category: str | None = None
    bfcl_ok: bool | None = None
    failure: str | None = None  # the exchange status when not ok
    prompt_tokens: int | None = None  # usage.prompt_tokens: what the template made of the request

    @property
    def truncated(self) -> bool:
        return self.finish == "length"

    @property
    def has_error(self) -> bool:
        return any(e in TOOLCALL_ERRORS for e in self.errors)


def findings_for(case: Case, ex: Exchange, schemas: SchemaCache, family: str | None = None) -> list[Finding]:
    """The tool-call checks on one answer; ``family`` is the endpoint's declared chat-format
    family (``declared.family``): its parser is tried first, every other family still detected."""
    if not ex.ok or ex.completion is None:
        return []
    return check_tool_calls(case.tools, ex.completion, schemas, declared_family=family)


def observe(case: Case, ex: Exchange, schemas: SchemaCache, family: str | None = None) -> Observation:
    if not ex.ok or ex.completion is None:
        return Observation(
            key=case.hash,
            repeat=ex.repeat,
            ok=False,
            called=False,
            finish=None,
            n_calls=0,
            errors=frozenset(),
            calls_valid=0,
            failure=ex.status.value,
        )
    c = ex.completion
    findings = findings_for(case, ex, schemas, family)
    bad_calls = {f.tool_call_index for f in findings if f.check in ERROR_CLASSES}
    category = case.expected.get("category") if case.expected.get("source") == "bfcl" else None
    bfcl_ok: bool | None = None
    if category is not None:
        bfcl_ok = bfcl_match(category, bfcl_calls(c.tool_calls), case.expected).ok
    return Observation(
        key=case.hash,
        repeat=ex.repeat,
        ok=True,
        called=bool(c.tool_calls),
        finish=c.finish_reason,
        n_calls=len(c.tool_calls),
        errors=frozenset(f.check for f in findings),
        calls_valid=len(c.tool_calls) - len(bad_calls),
        bfcl_category=category,
        bfcl_ok=bfcl_ok,
        prompt_tokens=_prompt_tokens(c.usage),
    )


def bfcl_calls(calls: Sequence[ToolCall]) -> list[Call]:
    """The calls as BFCL's matcher reads them: arguments by parity's rule, and an object, else a
    marker no answer accepts."""
    out: list[Call] = []
    for call in calls:
        args, _ = load_arguments(call.arguments)
        out.append((call.name or "", args if isinstance(args, dict) else {"__invalid__": True}))
    return out


def _prompt_tokens(usage: dict[str, object] | None) -> int | None:
    value = (usage or {}).get("prompt_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None

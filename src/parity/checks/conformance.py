"""Checks that an answer honours the request's API parameters: pure, one Completion at a time.

Each returns Findings (empty when the answer conforms), named ``<area>.<what>``.
The conformance suite's probes combine them with the reference's behaviour;
the gateway may run the cheap ones on every response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from parity.exchange import Completion, ToolCall

from ._arguments import canonical_arguments
from ._finding import Finding
from ._finish import LENGTH_FINISHES, finish_mismatch
from ._schema import InvalidSchema, SchemaCache

FINISH_MISSING = "finish_reason.missing"
FINISH_INCONSISTENT = "finish_reason.inconsistent"
FINISH_NOT_LENGTH = "finish_reason.not_length"
MAX_TOKENS_EXCEEDED = "max_tokens.exceeded"
TOOL_CHOICE_IGNORED = "tool_choice.ignored"
TOOL_CALL_ID = "tool_call.bad_id"
STOP_IGNORED = "stop.ignored"
N_IGNORED = "n.ignored"
LOGPROBS_MISSING = "logprobs.missing"
LOGPROBS_MALFORMED = "logprobs.malformed"
LOGPROBS_NOT_ARGMAX = "logprobs.not_argmax"
LOGPROBS_TEXT_MISMATCH = "logprobs.text_mismatch"
JSON_OUTPUT_INVALID = "response_format.invalid_json"
JSON_OUTPUT_MISMATCH = "response_format.schema_mismatch"
USAGE_MISSING = "usage.missing"
USAGE_INCONSISTENT = "usage.inconsistent"

# What providers use for tool-call ids: call_abc, toolu_01, functions.get_weather:0, a uuid.
TOOL_CALL_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def _f(check: str, message: str, **detail: Any) -> Finding:
    return Finding(check=check, message=message, detail=detail)


def check_finish_invariants(c: Completion) -> list[Finding]:
    """finish_reason present; calls present <=> ``tool_calls`` (a cut-off answer may say ``length``)."""
    fr = c.finish_reason
    if fr is None:
        return [_f(FINISH_MISSING, "finish_reason is missing")]
    why = finish_mismatch(c)
    return [_f(FINISH_INCONSISTENT, why, finish_reason=fr)] if why else []


def completion_tokens(c: Completion) -> int | None:
    value = (c.usage or {}).get("completion_tokens")
    return value if isinstance(value, int) else None


def check_max_tokens(c: Completion, max_tokens: int) -> list[Finding]:
    """At most ``max_tokens`` generated, and ``length`` when the budget ran out."""
    out: list[Finding] = []
    used = completion_tokens(c)
    if used is not None and used > max_tokens:
        out.append(_f(MAX_TOKENS_EXCEEDED, f"{used} completion tokens for max_tokens={max_tokens}",
                      completion_tokens=used, max_tokens=max_tokens))
    stopped_early = used is not None and used < max_tokens
    if c.finish_reason not in LENGTH_FINISHES and not stopped_early:
        out.append(_f(FINISH_NOT_LENGTH,
                      f"max_tokens={max_tokens} used up but finish_reason is {c.finish_reason!r}",
                      finish_reason=c.finish_reason, completion_tokens=used))
    return out


def check_tool_choice(choice: Any, c: Completion) -> list[Finding]:
    """``none``: no calls; ``required``: at least one; named: only that function, at least once."""
    names = [t.name for t in c.tool_calls]
    if choice == "none" and names:
        return [_f(TOOL_CHOICE_IGNORED, f"tool_choice 'none' but called {names}", called=names)]
    if choice == "required" and not names:
        return [_f(TOOL_CHOICE_IGNORED, "tool_choice 'required' but no tool call", called=names)]
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        if not names or any(n != wanted for n in names):
            return [_f(TOOL_CHOICE_IGNORED, f"tool_choice names {wanted!r} but called {names}",
                       called=names, wanted=wanted)]
    return []


def check_tool_call_ids(calls: Sequence[ToolCall]) -> list[Finding]:
    """Every call has an id of a usual shape, and no two calls share one."""
    out: list[Finding] = []
    seen: set[str] = set()
    for call in calls:
        if not call.id:
            out.append(_f(TOOL_CALL_ID, f"tool call {call.index} has no id", index=call.index))
        elif not TOOL_CALL_ID_RE.match(call.id):
            out.append(_f(TOOL_CALL_ID, f"tool call id {call.id[:60]!r} is malformed", id=call.id[:130]))
        elif call.id in seen:
            out.append(_f(TOOL_CALL_ID, f"tool call id {call.id!r} is used twice", id=call.id))
        if call.id:
            seen.add(call.id)
    return out


def call_signature(calls: Sequence[ToolCall]) -> list[tuple[str, str]]:
    """(name, canonical arguments) per call, order kept; unparseable arguments kept raw."""
    return [(call.name or "", canonical_arguments(call.arguments)) for call in calls]


def check_stop(c: Completion, stops: Sequence[str]) -> list[Finding]:
    """No stop sequence may appear in the content."""
    text = c.content or ""
    hit = [s for s in stops if s and s in text]
    if not hit:
        return []
    at = text.find(hit[0])
    return [_f(STOP_IGNORED, f"stop sequence {hit[0]!r} appears in the content", stop=hit[0],
               excerpt=text[max(0, at - 40) : at + 40])]


def check_n(c: Completion, n: int) -> list[Finding]:
    if c.n_choices == n:
        return []
    return [_f(N_IGNORED, f"n={n} asked, {c.n_choices} choice(s) returned", choices=c.n_choices)]


def _logprob_entries(c: Completion) -> list[Any] | None:
    entries = (c.logprobs or {}).get("content")
    return entries if isinstance(entries, list) and entries else None


def check_logprobs(c: Completion, greedy: bool) -> list[Finding]:
    """Logprobs present and well formed; at temperature 0 each token is the top alternative
    and the tokens spell out the content."""
    entries = _logprob_entries(c)
    if entries is None:
        return [_f(LOGPROBS_MISSING, "logprobs asked for, none returned")]
    bad = [i for i, e in enumerate(entries) if not isinstance(e, dict)
           or not isinstance(e.get("token"), str) or not isinstance(e.get("logprob"), int | float)]
    if bad:
        return [_f(LOGPROBS_MALFORMED, f"{len(bad)} logprob entries lack a token or logprob",
                   first=bad[0])]
    out: list[Finding] = []
    if greedy:
        for i, e in enumerate(entries):
            top = [t for t in e.get("top_logprobs") or [] if isinstance(t, dict)
                   and isinstance(t.get("logprob"), int | float)]
            if top and max(t["logprob"] for t in top) > e["logprob"] + 1e-4:
                best = max(top, key=lambda t: float(t["logprob"]))
                out.append(_f(LOGPROBS_NOT_ARGMAX, f"token {i} {e['token']!r} chosen at temperature 0 "
                              f"over more likely {best.get('token')!r}", position=i))
                break
    spelled = "".join(e["token"] for e in entries)
    if c.content is not None and spelled.strip() != c.content.strip():
        out.append(_f(LOGPROBS_TEXT_MISMATCH, "the logprob tokens do not spell out the content",
                      tokens=spelled[:200], content=c.content[:200]))
    return out


def check_json_output(c: Completion, schema: dict[str, Any], schemas: SchemaCache) -> list[Finding]:
    """The content is JSON (fences tolerated) that validates against ``schema``."""
    text = (c.content or "").strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return [_f(JSON_OUTPUT_INVALID, f"content is not JSON: {exc}", content=text[:200])]
    try:
        if schemas.is_valid(schema, value):
            return []
    except InvalidSchema as exc:
        return [_f(JSON_OUTPUT_MISMATCH, f"schema does not compile: {exc}")]
    errors = schemas.errors(schema, value)
    return [_f(JSON_OUTPUT_MISMATCH, "content does not match the schema: " + "; ".join(errors),
               content=text[:200], errors=errors)]


def check_usage(c: Completion) -> list[Finding]:
    """usage present, integers, total = prompt + completion."""
    u = c.usage
    if not u:
        return [_f(USAGE_MISSING, "no usage in the answer")]
    p, k, t = u.get("prompt_tokens"), u.get("completion_tokens"), u.get("total_tokens")
    if not all(isinstance(v, int) and v >= 0 for v in (p, k)):
        return [_f(USAGE_INCONSISTENT, f"prompt/completion tokens not counts: {p!r}, {k!r}", usage=u)]
    if isinstance(t, int) and isinstance(p, int) and isinstance(k, int) and t != p + k:
        return [_f(USAGE_INCONSISTENT, f"total_tokens {t} != {p} + {k}", usage=u)]
    return []

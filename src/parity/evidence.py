"""Evidence: the typed excerpts a verdict or a probe result rests on (verdict schema 3).

The suites record two kinds, told apart by ``kind``:

- :class:`ExchangeExcerpt` (``"exchange"``): one exchange, trimmed -- what was
  asked (:class:`RequestExcerpt`: parameters, the last message, the tools
  offered; never headers) and what came back (:class:`ResponseExcerpt`), with
  what was found in it (``check``, ``message``) and, on a conformance verdict,
  the ``probe`` it is evidence for. Tool calls and conformance probes record it.
- :class:`ItemGap` (``"item"``): an accuracy item the candidate scored lower on
  than the reference, with one of its answers.

Verdicts stored before version 3 carry untyped excerpts (dicts without a
``kind``); :func:`upgrade_v2` turns each into one of the above on reading, and
one whose shape it does not know into a :class:`LegacyExcerpt`, kept as
written. Excerpts are made from exchanges that were redacted before they were
stored, and the store redacts the verdict it writes: no secret reaches them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from parity.exchange import Exchange, ExchangeStatus

__all__ = [
    "Evidence", "EvidenceList", "ExchangeExcerpt", "ItemGap", "LegacyExcerpt", "MessageExcerpt",
    "RequestExcerpt", "ResponseExcerpt", "ToolCallExcerpt", "excerpt_of", "upgrade_v2",
]

# How much of each text an excerpt keeps (characters).
CONTENT_CHARS = 300
ARGUMENT_CHARS = 300
MESSAGE_CHARS = 400
PROMPT_CHARS = 200
MAX_ANOMALIES = 5
_FROZEN = ConfigDict(frozen=True)


def _kind_required(schema: dict[str, Any]) -> None:
    """Every excerpt written carries its ``kind``: the published schema says so."""
    schema["required"] = ["kind", *schema.get("required", [])]


_KINDED = ConfigDict(frozen=True, json_schema_extra=_kind_required)


class ToolCallExcerpt(BaseModel):
    """One tool call of an answer."""

    model_config = _FROZEN

    id: str | None = None
    name: str | None = Field(default=None, description="The function's name as returned (None if missing).")
    arguments: str = Field(default="", description=f"The raw arguments string, cut to {ARGUMENT_CHARS} characters.")


class MessageExcerpt(BaseModel):
    model_config = _FROZEN

    role: str | None = None
    content: str = Field(default="", description=f"Its text, cut to {PROMPT_CHARS} characters.")


class RequestExcerpt(BaseModel):
    """What was sent, without the conversation's full text, the tool schemas or any header."""

    model_config = _FROZEN

    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The body's own parameters (temperature, max_tokens, tool_choice, stream, ...): "
                    "everything but messages, tools and model.")
    messages: int = Field(default=0, description="How many messages the request carried.")
    last_message: MessageExcerpt | None = None
    tools: list[str | None] = Field(default_factory=list, description="Names of the tools offered.")


class ResponseExcerpt(BaseModel):
    """What came back: the status, and the answer's first choice when there is one."""

    model_config = _FROZEN

    status: ExchangeStatus | None = Field(
        description="How the request ended; None only in excerpts stored before version 3 without it.")
    http_status: int | None = None
    error: str | None = Field(default=None, description=f"The failure, cut to {CONTENT_CHARS} characters.")
    content: str | None = Field(default=None, description=f"The answer's text, cut to {CONTENT_CHARS} characters.")
    tool_calls: list[ToolCallExcerpt] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    n_choices: int = Field(default=1, description="Choices in the answer (n > 1 asked, or ignored).")
    stream_anomalies: list[str] = Field(
        default_factory=list, description=f"What the stream did wrong (the first {MAX_ANOMALIES}).")


class ExchangeExcerpt(BaseModel):
    """One exchange behind a verdict or a probe result, and what was found in it."""

    model_config = _KINDED

    kind: Literal["exchange"] = "exchange"
    case_id: str
    repeat: int
    probe: str | None = Field(default=None, description="The conformance probe it is evidence for.")
    check: str | None = Field(
        default=None, description="The check that flagged it, e.g. 'tool_call.invalid_json' or 'request.timeout'.")
    message: str = Field(default="", description=f"What was found in it, cut to {MESSAGE_CHARS} characters.")
    request: RequestExcerpt | None = Field(description="None only in excerpts stored before version 3.")
    response: ResponseExcerpt


class ItemGap(BaseModel):
    """An accuracy item the candidate scored lower on than the reference."""

    model_config = _KINDED

    kind: Literal["item"] = "item"
    item: str = Field(description="The task item's id.")
    difference: float = Field(
        description="The candidate's mean score on the item minus the reference's (negative: worse).")
    answer: str = Field(default="", description=f"One of the candidate's answers, cut to {PROMPT_CHARS} characters.")


class LegacyExcerpt(BaseModel):
    """An excerpt stored before version 3 in a shape this version does not know, kept as written."""

    model_config = _KINDED

    kind: Literal["legacy"] = "legacy"
    data: dict[str, Any]


Evidence = Annotated[ExchangeExcerpt | ItemGap | LegacyExcerpt, Field(discriminator="kind")]


def _request(x: Exchange) -> RequestExcerpt:
    body = x.request
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else None
    return RequestExcerpt(
        params={k: v for k, v in body.items() if k not in ("messages", "tools", "model")},
        messages=len(messages),
        last_message=None if last is None else MessageExcerpt(
            role=last.get("role"), content=str(last.get("content") or "")[:PROMPT_CHARS]),
        tools=[(t.get("function") or {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)],
    )


def _response(x: Exchange) -> ResponseExcerpt:
    c = x.completion
    return ResponseExcerpt(
        status=x.status, http_status=x.http_status,
        error=None if not x.error else x.error[:CONTENT_CHARS],
        content=None if c is None or c.content is None else c.content[:CONTENT_CHARS],
        tool_calls=[] if c is None else [ToolCallExcerpt(id=t.id, name=t.name, arguments=t.arguments[:ARGUMENT_CHARS])
                                         for t in c.tool_calls],
        finish_reason=None if c is None else c.finish_reason,
        usage=None if c is None else c.usage,
        n_choices=1 if c is None else c.n_choices,
        stream_anomalies=x.stream_anomalies[:MAX_ANOMALIES],
    )


def excerpt_of(x: Exchange, message: str = "", *, check: str | None = None) -> ExchangeExcerpt:
    """Evidence for one exchange: what was asked and what came back, trimmed; no headers."""
    return ExchangeExcerpt(case_id=x.case_id, repeat=x.repeat, check=check, message=message[:MESSAGE_CHARS],
                           request=_request(x), response=_response(x))


# reading verdicts stored before version 3 -------------------------------------------------
_V2_REQUEST_KEYS = ("last_message", "messages", "tools")


def _v2_exchange(d: dict[str, Any]) -> dict[str, Any]:
    """A version-2 excerpt of one exchange: a conformance probe's (request and response) or
    the tool-call suite's (check, message and the answer's fields at the top level)."""
    out: dict[str, Any] = {"kind": "exchange", "case_id": d["case_id"], "repeat": d["repeat"],
                           "probe": d.get("probe"), "check": d.get("check")}
    if isinstance(d.get("response"), dict):
        req = d.get("request")
        out["request"] = None if not isinstance(req, dict) else {
            "params": {k: v for k, v in req.items() if k not in _V2_REQUEST_KEYS},
            **{k: req[k] for k in _V2_REQUEST_KEYS if req.get(k) is not None}}
        out["response"] = d["response"]
        out["message"] = d.get("note") or ""
        return out
    check = str(d.get("check") or "")
    # The tool-call suite named a failed request's check after its status, and took findings
    # from answered requests only: the status is known exactly either way.
    failed = check.removeprefix("request.") if check.startswith("request.") else None
    out["request"] = None
    out["message"] = d.get("message") or ""
    out["response"] = {"status": failed or ExchangeStatus.OK.value, "error": d.get("error"),
                       "content": d.get("content"), "tool_calls": d.get("tool_calls") or [],
                       "finish_reason": d.get("finish_reason")}
    return out


def upgrade_v2(item: Any) -> Any:
    """One stored excerpt in the version-3 form: a dict without ``kind`` (versions 1 and 2)
    becomes the typed excerpt it describes, or a :class:`LegacyExcerpt`. Anything else
    is left for validation to judge."""
    if not isinstance(item, dict) or "kind" in item:
        return item
    try:
        if "item" in item and "difference" in item:
            return ItemGap.model_validate({"kind": "item", **item})
        if "case_id" in item and "repeat" in item:
            return ExchangeExcerpt.model_validate(_v2_exchange(item))
    except (ValidationError, TypeError, ValueError, AttributeError):
        pass
    return LegacyExcerpt(data=item)


def _upgrade_all(value: Any) -> Any:
    return [upgrade_v2(e) for e in value] if isinstance(value, list) else value


EvidenceList = Annotated[list[Evidence], BeforeValidator(_upgrade_all)]
"""A verdict's or a probe result's evidence; excerpts stored before version 3 are read too."""

"""Exchanges: one Case sent to one Endpoint, and everything that came back.

Every outcome of a request becomes an Exchange -- a success, an HTTP error, a
timeout, a body that is not what the API promises -- so nothing downstream
ever has to catch an exception to learn what happened.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from parity.redaction import Secrets


class ExchangeStatus(enum.StrEnum):
    """How a request ended. Only ``ok`` carries a parsed completion."""

    OK = "ok"
    HTTP_ERROR = "http_error"  # a non-2xx status after the retry policy gave up
    TIMEOUT = "timeout"  # connect, read or total deadline passed
    CONNECT_ERROR = "connect_error"  # refused, reset, DNS...
    INVALID_BODY = "invalid_body"  # 2xx but not a chat completion (HTML page, truncated JSON)
    STREAM_ERROR = "stream_error"  # SSE broken: bad event, cut off before [DONE]
    # Sent by a process that was killed before its answer was stored; not sent again
    # (a journaled sender, e.g. the watch, sends each request at most once).
    INTERRUPTED = "interrupted"


class ToolCall(BaseModel):
    """A tool call as the endpoint returned it; ``arguments`` is the raw string."""

    model_config = ConfigDict(frozen=True)

    index: int = 0
    id: str | None = None
    type: str | None = "function"
    name: str | None = None
    arguments: str = ""


class Completion(BaseModel):
    """The first choice of a chat completion, normalised across streamed and non-streamed."""

    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    logprobs: dict[str, Any] | None = None
    n_choices: int = 1
    choices: list[dict[str, Any]] = Field(
        default_factory=list, description="All choices' messages when n > 1 (content only)."
    )


class Reply(BaseModel):
    """What came back for one request, whatever happened: the client's output."""

    status: ExchangeStatus
    http_status: int | None = None
    response: dict[str, Any] | None = Field(
        default=None,
        description="The parsed response body; for streams, the reassembled chat.completion.",
    )
    completion: Completion | None = None
    error: str | None = Field(default=None, description="Short typed description of a failure.")
    raw_excerpt: str | None = Field(default=None, description="Start of an unparseable body.")
    stream_anomalies: list[str] = Field(default_factory=list)
    streamed: bool = False
    attempts: int = 1
    latency_s: float = 0.0
    ttft_s: float | None = None
    started_at: datetime | None = None
    retry_after_s: float | None = Field(
        default=None, description="The last Retry-After the endpoint asked for, if any."
    )

    @property
    def ok(self) -> bool:
        return self.status is ExchangeStatus.OK and self.completion is not None

    def redacted(self, secrets: Secrets) -> Self:
        """A copy with every configured secret masked in everything that came back (or was sent).

        Endpoints echo what they receive (keys in headers included) in bodies,
        error messages and stream frames: this runs before anything is stored.
        """
        if not secrets:
            return self
        excerpts = [t for t in (self.error, self.raw_excerpt) if t]
        if not secrets.in_json(self._echoable()) and all(secrets.redact(t, excerpt=True) == t for t in excerpts):
            return self  # the common case: one serialization, one scan (and a look at cut tails)
        update: dict[str, Any] = {
            "response": secrets.redact_value(self.response),
            "error": None if self.error is None else secrets.redact(self.error, excerpt=True),
            "raw_excerpt": None if self.raw_excerpt is None else secrets.redact(self.raw_excerpt, excerpt=True),
            "stream_anomalies": secrets.redact_value(self.stream_anomalies),
        }
        if self.completion is not None:
            update["completion"] = Completion.model_validate(secrets.redact_value(self.completion.model_dump()))
        if isinstance(self, Exchange):
            update["request"] = secrets.redact_value(self.request)
        return self.model_copy(update=update)

    def _echoable(self) -> bytes:
        """Every string an endpoint could have filled (or was sent), as one JSON text."""
        c = self.completion
        parts: list[Any] = [self.response, self.error, self.raw_excerpt, self.stream_anomalies,
                            getattr(self, "request", None)]
        if c is not None:
            parts += [c.content, c.reasoning_content, c.choices, c.logprobs, c.usage,
                      [(t.id, t.type, t.name, t.arguments) for t in c.tool_calls]]
        try:
            return orjson.dumps(parts)
        except TypeError:  # not plain JSON: look at everything
            return self.model_dump_json().encode()


class Exchange(Reply):
    """One Case sent to one Endpoint (one repeat), stored as soon as it completes."""

    schema_version: int = 1
    run_id: str
    endpoint: str
    suite: str
    case_id: str
    case_hash: str
    repeat: int = 0
    request: dict[str, Any] = Field(description="The body sent, as sent (no headers, no key).")

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.endpoint, self.suite, self.case_hash, self.repeat)


def requests_spent(exchanges: Iterable[Exchange]) -> int:
    """HTTP requests actually made for these exchanges: every attempt, retries and resends of
    stale connections included (a verdict's ``requests``)."""
    return sum(x.attempts for x in exchanges)

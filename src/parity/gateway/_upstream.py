"""One endpoint behind the gateway, and one non-streamed attempt on it.

Non-streamed requests go through the core ChatClient with a single attempt:
the gateway's fallback to *another* endpoint is the only retry layer, so the
client's own retry policy is set to one attempt instead of being stacked.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from parity.checks import Finding
from parity.client import ChatClient, RetryPolicy
from parity.config import EndpointConfig
from parity.exchange import ExchangeStatus, Reply

from ._scrub import endpoint_secrets
from ._validation import ToolValidator, is_empty, summarize

_STATUS_OUTCOME = {
    ExchangeStatus.TIMEOUT: "timeout",
    ExchangeStatus.CONNECT_ERROR: "connect_error",
    ExchangeStatus.INVALID_BODY: "invalid_body",
    ExchangeStatus.STREAM_ERROR: "stream_error",
}


# Refusals that say the request itself is wrong: the client sees them, no other endpoint is tried.
CLIENT_FAULT = frozenset({400, 413, 422})


def status_outcome(status: int, retry: RetryPolicy) -> str:
    if status == 429:
        return "rate_limited"
    if status in CLIENT_FAULT and not retry.retryable_status(status):
        return "client_error"
    return "http_error"  # 5xx, but also 401/403/404: this endpoint's key or model is wrong


@dataclass(slots=True)
class Attempt:
    """How one try on one endpoint went; ``outcome`` is one of telemetry.ATTEMPT_OUTCOMES."""

    endpoint: str
    outcome: str
    status: int | None = None
    body: bytes | None = None
    error: str = ""
    retry_after_s: float | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    tool_calls: int | None = None
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""  # the upstream's own refusal message, cleaned for the client (client_error)
    empty: bool = False  # a complete answer with nothing in it (see _validation.is_empty)
    repaired: str | None = None  # the family whose leaked call text was repaired into tool_calls
    usage: dict[str, Any] | None = None  # streams: from the reassembled answer (token metrics)
    finish_reasons: list[str] | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def public(self) -> str:
        """Why it failed, as a client may read it: no addresses, exception names or upstream HTML.
        The full (redacted) ``error`` is for the operator's log."""
        if self.outcome == "tool_call_invalid":
            return self.error
        what = self.outcome if self.status is None else f"{self.outcome} (HTTP {self.status})"
        return f"{what}: {self.detail}" if self.detail else what


_ADDRESS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+|\[[0-9A-Fa-f:.]+\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"
                      r"|\b[A-Za-z0-9.-]+:\d{2,5}\b")


def public_message(body: bytes | str | None) -> str:
    """An upstream error body's own ``error.message`` with addresses masked; '' for anything else
    (HTML pages, plain text, truncated JSON)."""
    if not body:
        return ""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    err = data.get("error") if isinstance(data, dict) else None
    msg = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else None
    if not isinstance(msg, str) or "<" in msg:
        return ""
    return _ADDRESS.sub("[address]", msg)[:200]


class Upstream:
    """An endpoint with its transport, client, request headers and what the gateway says about it."""

    def __init__(self, cfg: EndpointConfig, api_key: str | None, transport: httpx.AsyncBaseTransport,
                 connect_timeout_s: float, max_response_bytes: int | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.retry = RetryPolicy(max_attempts=1)
        self.max_response_bytes = max_response_bytes
        # complete() bounds every chat() by cfg.timeout_s: the client's own per-attempt deadline
        # would never pass first (bound_attempts=False saves its timer per request)
        self.client = ChatClient(cfg, api_key=api_key, transport=transport, retry=self.retry,
                                 max_response_bytes=max_response_bytes, bound_attempts=False)
        self.transport = transport
        # Streams: no read limit in the transport, the gateway's first-token and idle deadlines
        # bound each read (ChatClient.stream, OpenStream.read).
        self.connect_timeout_s = connect_timeout_s
        self.secrets = endpoint_secrets(cfg, api_key)
        # Header values must be ASCII; declared metadata is provider-written text.
        self.declared_header = orjson.dumps(cfg.declared.model_dump(exclude_none=True)).decode("ascii", "replace")

    async def aclose(self) -> None:
        await self.transport.aclose()

    def build_body(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.build_body(body)

    def redact(self, text: str) -> str:
        return self.client.redact(text)

    async def complete(
        self, body: dict[str, Any], tools: list[dict[str, Any]] | None, validator: ToolValidator | None,
        reject_empty: bool = False,
    ) -> Attempt:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.cfg.timeout_s):
                reply = await self.client.chat(body)
        except TimeoutError:
            return Attempt(self.name, "timeout", error=f"no answer within {self.cfg.timeout_s:g}s")
        return self._judge(reply, tools, validator, time.perf_counter() - t0, reject_empty)

    def _judge(
        self, reply: Reply, tools: list[dict[str, Any]] | None, validator: ToolValidator | None, latency: float,
        reject_empty: bool,
    ) -> Attempt:
        if reply.status is ExchangeStatus.HTTP_ERROR:
            status = reply.http_status or 502
            outcome = status_outcome(status, self.retry)
            return Attempt(self.name, outcome, status=status, error=reply.error or "",
                           retry_after_s=reply.retry_after_s, latency_s=latency,
                           detail=public_message(reply.raw_excerpt) if outcome == "client_error" else "")
        if reply.status is not ExchangeStatus.OK or reply.completion is None:
            return Attempt(self.name, _STATUS_OUTCOME.get(reply.status, "invalid_body"),
                           status=reply.http_status, error=reply.error or "", latency_s=latency)
        n_calls = len(reply.completion.tool_calls)
        findings = validator.check(tools, reply.completion, self.name) if validator is not None else []
        fixed = None
        if findings and validator is not None and validator.repairs and reply.response is not None:
            fixed = validator.repair(tools, reply.response, self.name)  # a call left as text, parsed
        if fixed is not None:
            return Attempt(self.name, "ok", status=reply.http_status, body=orjson.dumps(fixed.response),
                           latency_s=latency, tool_calls=fixed.tool_calls, repaired=fixed.family)
        if findings:
            return Attempt(self.name, "tool_call_invalid", status=reply.http_status, latency_s=latency,
                           error=summarize(findings), tool_calls=n_calls, findings=findings,
                           usage=reply.completion.usage)  # a rejected answer's tokens were still spent
        empty = is_empty(reply.completion)
        if empty and reject_empty:
            return Attempt(self.name, "empty_answer", status=reply.http_status, latency_s=latency,
                           error="empty answer (no text, no tool call, finish_reason 'stop')", tool_calls=0,
                           empty=True)
        return Attempt(self.name, "ok", status=reply.http_status, body=orjson.dumps(reply.response),
                       latency_s=latency, tool_calls=n_calls, empty=empty)

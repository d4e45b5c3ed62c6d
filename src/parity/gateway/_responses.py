"""``/v1/responses`` and ``/v1/completions`` through the gateway, and ``GET /v1/models/{id}``.

Chat's path, with this module supplying only what differs: the parser (same
door: body size, depth, the tools door -- Responses' flat function tools in
chat shape) and the attempt strategy that ``_dispatch.dispatch`` runs per
endpoint (the loop, attribution, public errors, scrubbing and hang-up rule are
chat's). Streams as chat streams do (``_other_stream``). An upstream that does
not serve the API (404/405) is a failed attempt: the next endpoint is tried.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from parity.client import iter_sse_data
from parity.exchange import Completion, ToolCall

from ._dispatch import Relayed, TryOnce
from ._door import check_depth
from ._errors import GatewayError, bad_request
from ._gateway import ChatRequest, Gateway
from ._other_stream import OtherStream
from ._provider import parse_provider
from ._upstream import Attempt, Upstream, public_message, status_outcome
from ._validation import summarize

__all__ = ["OtherApis"]

VERIFIED = ":verified"


def _chat_tools(tools: Any) -> list[dict[str, Any]] | None:
    """Responses' flat function tools as chat tools (what the validator reads)."""
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise bad_request("'tools' must be an array of objects", param="tools")
    return [{"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
            for t in tools if t.get("type") == "function"]


def _responses_answer(data: dict[str, Any]) -> Completion:
    calls, text = [], []
    for i, item in enumerate(data.get("output") or []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            calls.append(ToolCall(index=i, id=item.get("call_id"), name=item.get("name"),
                                  arguments=str(item.get("arguments") or "")))
        elif item.get("type") == "message":
            text += [str(p.get("text", "")) for p in item.get("content") or [] if isinstance(p, dict)]
    status = data.get("status")
    return Completion(content="".join(text) or None, tool_calls=calls,
                      finish_reason=status if isinstance(status, str) else None,
                      usage=data.get("usage") if isinstance(data.get("usage"), dict) else None)


def _completions_answer(data: dict[str, Any]) -> Completion:
    choices = [c for c in data.get("choices") or [] if isinstance(c, dict)]
    if not choices:
        raise ValueError("no choices")
    reason = choices[0].get("finish_reason")
    return Completion(content=str(choices[0].get("text") or ""), finish_reason=reason if isinstance(reason, str)
                      else None, usage=data.get("usage") if isinstance(data.get("usage"), dict) else None)


def _final_of_stream(api: str, raw: bytes) -> dict[str, Any]:
    """The whole answer a stream carried: Responses' completed event, or Completions' chunks joined."""
    payloads = [orjson.loads(p) for p in iter_sse_data(bytearray(), raw) if p != b"[DONE]"]
    if api == "responses":
        for event in payloads:
            if isinstance(event, dict) and event.get("type") == "response.completed":
                return dict(event["response"])
        raise ValueError("stream ended without response.completed")
    if b"data: [DONE]" not in raw:
        raise ValueError("stream ended before [DONE]")
    text, reason, usage, seen = [], None, None, 0
    for chunk in (p for p in payloads if isinstance(p, dict)):
        for c in (c for c in chunk.get("choices") or [] if isinstance(c, dict)):
            text.append(str(c.get("text") or ""))
            reason = c.get("finish_reason") or reason
            seen += 1
        usage = chunk.get("usage") or usage
    if not seen:
        raise ValueError("no completion chunk in the stream")
    return {"choices": [{"index": 0, "text": "".join(text), "finish_reason": reason}], "usage": usage}


class OtherApis:
    """Route handlers; registered in the app's route list."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def model(self, request: Request) -> Response:
        model_id = str(request.path_params["model_id"])
        base = model_id.removesuffix(VERIFIED)
        if len(model_id) > 256 or self.gw.config.alias(base) is None:
            return GatewayError(404, f"the model {model_id[:256]!r} does not exist on this gateway",
                                param="model", code="model_not_found").response()
        return Response(orjson.dumps({"id": model_id, "object": "model", "created": 0, "owned_by": "parity"}),
                        media_type="application/json")

    async def parse(self, request: Request, api: str) -> ChatRequest:
        """The door, as for chat: body size, JSON, depth, the tools door (Responses' flat function
        tools in chat shape), then what routing needs. The rest of the body goes upstream untouched."""
        from ._app import client_id, read_body  # one door for the body, one client identity

        gw = self.gw
        raw, body, model = await read_body(gw, request)
        field = "input" if api == "responses" else "prompt"
        if not isinstance(body.get(field), str | list) or not body[field]:
            raise bad_request(f"'{field}' is required: a string or a non-empty array", param=field)
        check_depth(body, raw)
        tools = gw.door.check(_chat_tools(body.get("tools"))) if api == "responses" else None
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise bad_request("'stream' must be a boolean", param="stream")
        verified = model.endswith(VERIFIED)
        alias = gw.config.alias(model.removesuffix(VERIFIED))
        if alias is None:
            raise GatewayError(404, f"the model {model[:256]!r} does not exist on this gateway", param="model",
                               code="model_not_found")
        provider = parse_provider(body.pop("provider")) if "provider" in body else None
        h = request.headers
        ignore = frozenset(x.strip() for x in h.get("x-parity-ignore", "").split(",") if x.strip())
        return ChatRequest(body, alias, verified, stream, tools, ignore, None,
                           client_id(request, keyed=bool(gw.config.server.api_key_hashes)), provider)

    def attempts(self, req: ChatRequest, api: str) -> TryOnce:
        """This API's strategy for the shared dispatch loop (``_dispatch.dispatch``)."""
        async def once(up: Upstream) -> tuple[Attempt, Relayed | None]:
            if not req.stream:
                return await self._attempt(up, req, api), None
            stream = self._stream(up, req, api)
            att = await stream.start()
            if not att.ok:
                await stream.close()
            return att, stream

        return once

    def _stream(self, up: Upstream, req: ChatRequest, api: str) -> OtherStream:
        s = self.gw.config.server  # streams: bounded by the first-token and idle timers, as chat's
        return OtherStream(up, api, orjson.dumps(up.build_body(req.body_for(up))),
                           lambda raw, status, latency: self._judge(up, req, api, raw, status, latency),
                           s.first_token_timeout_s, s.idle_timeout_s, up.max_response_bytes, _refused)

    async def _attempt(self, up: Upstream, req: ChatRequest, api: str) -> Attempt:
        t0 = time.perf_counter()
        content = orjson.dumps(up.build_body(req.body_for(up)))
        limit = up.max_response_bytes
        try:  # through the endpoint's client: its max_concurrency and requests_per_second hold
            async with asyncio.timeout(up.cfg.timeout_s):
                resp = await up.client.stream(content, path=api, connect_timeout_s=up.connect_timeout_s,
                                              read_timeout_s=up.cfg.timeout_s)
                try:
                    raw = await resp.read_capped(limit)
                finally:
                    await resp.aclose()
        except TimeoutError:
            return Attempt(up.name, "timeout", error=f"no answer within {up.cfg.timeout_s:g}s")
        except (httpx.TransportError, httpx.StreamError) as exc:
            return Attempt(up.name, "connect_error", error=up.redact(f"{type(exc).__name__}: {exc}")[:300])
        latency = time.perf_counter() - t0
        if not 200 <= resp.status_code < 300:
            return _refused(up, api, resp.status_code, raw, latency)
        if limit is not None and len(raw) > limit:
            return Attempt(up.name, "invalid_body", status=resp.status_code, latency_s=latency,
                           error=f"answer larger than {limit} bytes (max_response_bytes)")
        att = self._judge(up, req, api, raw, resp.status_code, latency)
        att.body = raw
        return att

    def _judge(self, up: Upstream, req: ChatRequest, api: str, raw: bytes, status: int, latency: float) -> Attempt:
        try:
            data = _final_of_stream(api, raw) if req.stream else orjson.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            answer = _responses_answer(data) if api == "responses" else _completions_answer(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Attempt(up.name, "stream_error" if req.stream else "invalid_body", status=status,
                           latency_s=latency, error=up.redact(f"not a valid {api} answer: {exc}")[:300])
        validator = self.gw.validator if req.alias.validate_tool_calls else None
        findings = validator.check(req.tools, answer) if validator is not None else []
        att = Attempt(up.name, "tool_call_invalid" if findings else "ok", status=status, latency_s=latency,
                      tool_calls=len(answer.tool_calls), findings=findings, error=summarize(findings),
                      usage=answer.usage, finish_reasons=[answer.finish_reason or ""])
        return att


def _refused(up: Upstream, api: str, status: int, body: bytes, latency: float | None) -> Attempt:
    """An HTTP refusal, as chat's: 404/405 (the API is not served) falls back; a client fault
    carries the upstream's own message, cleaned (``public_message``), for the client."""
    outcome = "http_error" if status in (404, 405) else status_outcome(status, up.retry)
    what = f"does not serve /v1/{api}" if status in (404, 405) else "refused"
    return Attempt(up.name, outcome, status=status, latency_s=latency,
                   error=up.redact(f"HTTP {status} ({what}): {body[:200].decode('utf-8', 'replace')}")[:300],
                   detail=public_message(body) if outcome == "client_error" else "")

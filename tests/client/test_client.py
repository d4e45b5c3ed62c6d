"""The client through the transport seam: every outcome is a typed Reply, never an exception."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parity.client import ChatClient, RetryPolicy, parse_retry_after
from parity.config import EndpointConfig
from parity.exchange import ExchangeStatus
from parity.fake import Answer, Call, FakeEndpoint, Garbage, HttpError, Sequence_, Slow

BODY = {"messages": [{"role": "user", "content": "hi"}]}


def endpoint(**kw: Any) -> EndpointConfig:
    return EndpointConfig(name="ep", base_url="http://ep.test/v1", model="m", **kw)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, s: float) -> None:
        self.waits.append(s)


def client(app: Any, sleeps: Sleeps | None = None, **kw: Any) -> ChatClient:
    return ChatClient(endpoint(**kw), transport=httpx.ASGITransport(app), sleep=sleeps or Sleeps())


async def test_ok_non_streamed_fills_model_and_extra_body() -> None:
    app = FakeEndpoint(lambda b: Answer(content="hello"))
    async with client(app, extra_body={"provider": {"order": ["x"]}}) as c:
        r = await c.chat(BODY)
    assert r.status is ExchangeStatus.OK and r.completion is not None
    assert r.completion.content == "hello" and r.completion.finish_reason == "stop"
    assert app.requests[0]["model"] == "m" and app.requests[0]["provider"] == {"order": ["x"]}
    assert r.attempts == 1 and r.latency_s > 0


async def test_streamed_tool_calls_are_reassembled_by_index() -> None:
    calls = (Call("a", '{"x": 1, "y": "long enough to split"}'), Call("b", '{"z": [1, 2, 3]}'))
    app = FakeEndpoint(lambda b: Answer(content=None, calls=calls))
    async with client(app) as c:
        r = await c.chat({**BODY, "stream": True})
    assert r.status is ExchangeStatus.OK and r.streamed and r.completion is not None
    assert [(t.index, t.name, t.arguments) for t in r.completion.tool_calls] == [
        (0, "a", calls[0].arguments), (1, "b", calls[1].arguments)]
    assert r.completion.finish_reason == "tool_calls" and r.ttft_s is not None
    assert r.stream_anomalies == []


async def test_duplicated_stream_delta_is_flagged() -> None:
    app = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("a", '{"x": "0123456789"}'),),
                                        duplicate_tool_delta=1))
    async with client(app) as c:
        r = await c.chat({**BODY, "stream": True})
    assert r.status is ExchangeStatus.OK
    assert any("repeats" in a for a in r.stream_anomalies)
    assert r.completion is not None and r.completion.tool_calls[0].arguments != '{"x": "0123456789"}'


async def test_stream_cut_before_done_is_a_stream_error() -> None:
    app = FakeEndpoint(lambda b: Answer(content="a fairly long answer here", cut_after_chunks=3))
    async with client(app, max_attempts=1) as c:
        r = await c.chat({**BODY, "stream": True})
    assert r.status is ExchangeStatus.STREAM_ERROR and "before [DONE]" in (r.error or "")
    assert r.response is not None  # the partial answer is kept as evidence


@pytest.mark.parametrize(
    ("behavior", "status"),
    [
        (Garbage(), ExchangeStatus.INVALID_BODY),
        (Garbage(body=b'{"choices": [{"message": {"content": "trunc'), ExchangeStatus.INVALID_BODY),
        (Garbage(body=b'{"object": "chat.completion"}', content_type="application/json"),
         ExchangeStatus.INVALID_BODY),
        (HttpError(400, "bad request"), ExchangeStatus.HTTP_ERROR),
    ],
)
async def test_garbage_and_client_errors_are_typed(behavior: Any, status: ExchangeStatus) -> None:
    app = FakeEndpoint(lambda b: behavior)
    async with client(app) as c:
        r = await c.chat(BODY)
    assert r.status is status and r.error
    assert len(app.requests) == 1  # not retried: a retry would not change the answer


async def test_garbage_in_a_stream_is_a_stream_error() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: {not json}\n\n"})

    async with client(app) as c:
        r = await c.chat({**BODY, "stream": True})
    assert r.status is ExchangeStatus.STREAM_ERROR and "not JSON" in (r.error or "")


async def test_429_then_ok_honours_retry_after() -> None:
    seq = Sequence_([HttpError(429, "slow down", {"retry-after": "7"}), HttpError(503), Answer()])
    sleeps = Sleeps()
    async with client(FakeEndpoint(seq), sleeps) as c:
        r = await c.chat(BODY)
    assert r.status is ExchangeStatus.OK and r.attempts == 3
    assert sleeps.waits[0] >= 7.0 and len(sleeps.waits) == 2


async def test_retries_are_bounded() -> None:
    app = FakeEndpoint(lambda b: HttpError(500))
    sleeps = Sleeps()
    async with client(app, sleeps, max_attempts=3) as c:
        r = await c.chat(BODY)
    assert r.status is ExchangeStatus.HTTP_ERROR and r.http_status == 500 and r.attempts == 3
    assert len(app.requests) == 3 and len(sleeps.waits) == 2


async def test_timeout_is_typed() -> None:
    app = FakeEndpoint(lambda b: Slow(5.0, Answer()))
    async with client(app, timeout_s=0.05, max_attempts=1) as c:
        r = await c.chat(BODY)
    assert r.status is ExchangeStatus.TIMEOUT


async def test_connect_error_is_typed_and_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sleeps = Sleeps()
    c = ChatClient(endpoint(max_attempts=2), transport=httpx.MockTransport(refuse), sleep=sleeps)
    r = await c.chat(BODY)
    await c.aclose()
    assert r.status is ExchangeStatus.CONNECT_ERROR and r.attempts == 2


async def test_key_goes_in_the_header_and_nowhere_else() -> None:
    key = "sk-test-SECRET-123456"
    app = FakeEndpoint(lambda b: HttpError(401, f"invalid api key {key}"))
    c = ChatClient(endpoint(), api_key=key, transport=httpx.ASGITransport(app), sleep=Sleeps())
    r = await c.chat(BODY)
    await c.aclose()
    assert app.headers[0]["authorization"] == f"Bearer {key}"
    assert key not in (r.error or "") and key not in (r.raw_excerpt or "")
    assert "***" in (r.error or "")


def test_backoff_grows_and_is_capped() -> None:
    p = RetryPolicy(base_delay_s=1.0, max_delay_s=4.0)
    assert all(0 <= p.delay(1) <= 1.0 for _ in range(50))
    assert all(0 <= p.delay(10) <= 4.0 for _ in range(50))
    assert p.delay(1, retry_after_s=1000) == p.max_retry_after_s


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0

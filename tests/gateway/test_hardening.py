"""Hostile upstreams and odd clients: Retry-After, empty answers, answer size, the slash redirect."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from parity.fake import Answer, FakeEndpoint, Garbage, HttpError

from .conftest import make_config


@pytest.mark.parametrize("value", ["inf", "1e400", "Infinity", "99999999999", "nan", "-5",
                                   "Fri, 31 Dec 9999 23:59:59 GMT"])
@pytest.mark.parametrize("stream", [False, True])
async def test_hostile_retry_after_is_capped_never_a_500(harness: Any, value: str, stream: bool) -> None:
    h = harness({"a": FakeEndpoint(lambda b: HttpError(429, "slow down", headers={"retry-after": value}))},
                make_config(["a"], server={"max_retry_after_s": 120}))
    r = await h.chat(stream=stream)
    assert r.status_code == 503
    wait = r.headers.get("retry-after")
    assert wait is None or 1 <= int(wait) <= 120
    r = await h.chat(stream=stream)  # and the cool-down it set is capped too: the second is refused cleanly
    assert r.status_code == 503 and int(r.headers.get("retry-after", "1")) <= 120


async def _no_choices(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body",
                "body": b'data: {"id":"x","choices":[]}\n\ndata: {"id":"x","choices":[]}\n\ndata: [DONE]\n\n'})


async def test_stream_without_choices_is_a_failed_attempt_with_fallback(harness: Any) -> None:
    cfg = make_config(["empty", "ok"], alias={"policy": "price", "prices": {"empty": 0}})
    h = harness({"empty": _no_choices, "ok": FakeEndpoint()}, cfg)
    r = await h.chat(stream=True)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="empty", outcome="invalid_body") == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_empty_answers_are_counted_and_optionally_rejected(harness: Any, stream: bool) -> None:
    blank = FakeEndpoint(lambda b: Answer(content=None))
    h = harness({"blank": blank, "ok": FakeEndpoint()},
                make_config(["blank", "ok"], alias={"policy": "price", "prices": {"blank": 0}}))
    r = await h.chat(stream=stream)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "blank"  # default: served, but counted
    assert h.metric("parity_gateway_empty_answers_total", endpoint="blank") == 1
    strict = harness({"blank": blank, "ok": FakeEndpoint()},
                     make_config(["blank", "ok"],
                                 alias={"policy": "price", "prices": {"blank": 0}, "reject_empty": True}))
    r = await strict.chat(stream=stream)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert strict.metric("parity_gateway_upstream_attempts_total", endpoint="blank", outcome="empty_answer") == 1
    assert strict.metric("parity_gateway_empty_answers_total", endpoint="blank") == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_an_oversized_answer_is_a_failed_attempt(harness: Any, stream: bool) -> None:
    huge = FakeEndpoint(lambda b: Answer(content="x" * 300_000))
    cfg = make_config(["huge", "ok"], alias={"policy": "price", "prices": {"huge": 0}},
                      server={"max_response_bytes": 100_000})
    h = harness({"huge": huge, "ok": FakeEndpoint()}, cfg)
    r = await h.chat(stream=stream)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    outcome = "stream_error" if stream else "invalid_body"
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="huge", outcome=outcome) == 1


async def test_an_oversized_error_page_is_not_relayed(harness: Any) -> None:
    page = b"<html>" + b"10.0.0.7 internal " * 100_000 + b"</html>"
    h = harness({"a": FakeEndpoint(lambda b: Garbage(page, status=502))})
    r = await h.chat()
    assert r.status_code == 503 and len(r.content) < 2_000 and b"10.0.0.7" not in r.content


@pytest.mark.parametrize("path", ["/v1/chat/completions/", "/v1/models/", "//v1/chat/completions"])
async def test_no_redirect_built_from_the_host_header(harness: Any, path: str) -> None:
    h = harness({"a": FakeEndpoint()})
    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    r = await h.client.post(path, content=body, headers={"host": "evil.example"})
    assert r.status_code in (404, 405) and "location" not in r.headers
    assert "evil" not in r.text

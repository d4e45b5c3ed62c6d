"""The fault matrix: each fault, its expected outcome, and no request silently lost.

Every test ends by checking that each request the client sent is counted
exactly once in parity_gateway_requests_total, served or answered with an error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from parity.fake import (
    Answer,
    Call,
    FakeEndpoint,
    Garbage,
    HttpError,
    Slow,
    free_port,
    serve,
)

from .conftest import TOOLS, make_config


def _text(r: httpx.Response) -> str:
    out = []
    for line in r.text.splitlines():
        if line.startswith("data: {"):
            chunk = orjson.loads(line[6:])
            for c in chunk.get("choices", []):
                out.append(c["delta"].get("content") or "")
    return "".join(out)


async def test_stream_cut_before_first_token_falls_back(harness: Any) -> None:
    cut = FakeEndpoint(lambda b: Answer(cut_after_chunks=1))  # role chunk only, then EOF without [DONE]
    h = harness({"cut": cut, "ok": FakeEndpoint()},
                make_config(["cut", "ok"], alias={"policy": "price", "prices": {"cut": 0}}))
    r = await h.chat(stream=True)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert _text(r) == "Hello from the fake endpoint." and r.text.endswith("data: [DONE]\n\n")
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="cut", outcome="stream_error") == 1
    assert h.metric("parity_gateway_fallbacks_total", model="m", reason="stream_error") == 1
    assert h.total() == 1


async def test_stream_cut_after_first_token_ends_with_error_event(harness: Any) -> None:
    h = harness({"a": FakeEndpoint(lambda b: Answer(cut_after_chunks=3))})
    r = await h.chat(stream=True)
    assert r.status_code == 200
    assert _text(r) == "Hello fr"  # what was sent stays sent
    last = orjson.loads(r.text.strip().splitlines()[-1][6:])
    assert last["error"]["code"] == "stream_error" and "data: [DONE]" not in r.text
    assert h.metric("parity_gateway_requests_total", model="m", outcome="stream_stream_error") == 1
    assert h.total() == 1


async def _killed_app(scope: Any, receive: Any, send: Any) -> None:
    """An upstream process that dies mid-stream: headers, one chunk, then the connection drops."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "more_body": True,
                "body": b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'})
    raise RuntimeError("killed")


async def test_upstream_killed_mid_stream_falls_back(harness: Any) -> None:
    with serve(_killed_app) as url:
        cfg = make_config(["dead", "ok"], urls={"dead": url + "/v1"}, alias={"policy": "price", "prices": {"dead": 0}})
        h = harness({"ok": FakeEndpoint()}, cfg)
        r = await h.chat(stream=True)
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert _text(r) == "Hello from the fake endpoint."
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="dead", outcome="stream_error") == 1
    assert h.total() == 1


async def test_stalled_upstream_times_out_and_falls_back(harness: Any) -> None:
    stall = FakeEndpoint(lambda b: Slow(60, Answer()))
    cfg = make_config(["stall", "ok"], alias={"policy": "price", "prices": {"stall": 0}},
                      endpoint={"timeout_s": 0.2}, server={"first_token_timeout_s": 0.2})
    h = harness({"stall": stall, "ok": FakeEndpoint()}, cfg)
    r = await h.chat()
    assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    r = await h.chat(stream=True)
    assert r.status_code == 200 and _text(r) == "Hello from the fake endpoint."
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="stall", outcome="timeout") == 2
    assert h.total() == 2


async def test_429_storm_honours_retry_after(harness: Any) -> None:
    limited = FakeEndpoint(lambda b: HttpError(429, "slow down", {"Retry-After": "30"}))
    h = harness({"rl": limited, "ok": FakeEndpoint()},
                make_config(["rl", "ok"], alias={"policy": "price", "prices": {"rl": 0}}))
    for _ in range(5):
        r = await h.chat()
        assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
    assert len(limited.requests) == 1  # asked to wait 30 s: not asked again meanwhile
    assert h.total() == 5


async def test_429_everywhere_is_a_clear_503_with_retry_after(harness: Any) -> None:
    storm = {n: FakeEndpoint(lambda b: HttpError(429, "slow down", {"Retry-After": "20"})) for n in ("a", "b")}
    h = harness(storm)
    first = await h.chat()
    again = await h.chat()
    for r in (first, again):
        assert r.status_code == 503 and 1 <= int(r.headers["retry-after"]) <= 20
        err = r.json()["error"]
        assert set(err["parity"]["endpoints"]) == {"a", "b"}
        assert "rate_limited" in err["message"] or "Retry-After" in err["message"]
    assert again.json()["error"]["code"] == "no_endpoint_available"  # nobody was asked the second time
    assert sum(len(f.requests) for f in storm.values()) == 2
    assert h.total() == 2


async def test_garbage_body_falls_back_then_503(harness: Any) -> None:
    h = harness({"junk": FakeEndpoint(lambda b: Garbage()), "ok": FakeEndpoint()},
                make_config(["junk", "ok"], alias={"policy": "price", "prices": {"junk": 0}}))
    assert (await h.chat()).headers["x-parity-endpoint"] == "ok"
    assert (await h.chat(stream=True)).headers["x-parity-endpoint"] == "ok"
    assert h.metric("parity_gateway_upstream_attempts_total", endpoint="junk", outcome="invalid_body") == 2
    h2 = harness({"junk": FakeEndpoint(lambda b: Garbage())})
    r = await h2.chat()
    assert r.status_code == 503 and r.json()["error"]["code"] == "upstreams_failed"
    assert "invalid_body" in r.json()["error"]["message"]
    assert h.total() == 2 and h2.total() == 1


async def test_invalid_tool_calls_are_retried_elsewhere(harness: Any) -> None:
    for bad_call in (Call("get_weather", '{"city": '), Call("rm_rf", "{}"), Call("get_weather", '{"city": 3}')):
        bad = FakeEndpoint(lambda b, c=bad_call: Answer(content=None, calls=(c,)))
        h = harness({"bad": bad, "ok": FakeEndpoint()},
                    make_config(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}}))
        for stream in (False, True):
            r = await h.chat(tools=TOOLS, stream=stream)
            assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
            assert r.headers["x-parity-attempts"] == "2"
        assert h.metric("parity_gateway_upstream_attempts_total", endpoint="bad", outcome="tool_call_invalid") == 2
        assert h.total() == 2


async def test_invalid_tool_call_everywhere_is_502_unless_validation_off(harness: Any) -> None:
    bad = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("get_weather", "{oops"),)))
    h = harness({"bad": bad})
    r = await h.chat(tools=TOOLS)
    assert r.status_code == 502 and r.json()["error"]["code"] == "invalid_tool_call"
    assert "tool_call.invalid_json" in r.json()["error"]["message"]
    off = harness({"bad": bad}, make_config(["bad"], alias={"validate_tool_calls": False}))
    assert (await off.chat(tools=TOOLS)).status_code == 200
    assert h.total() == 1 and off.total() == 1


async def test_content_then_invalid_tool_call_in_stream_ends_with_error(harness: Any) -> None:
    # served for real, with gaps between chunks, so the text is committed before the calls arrive
    bad = FakeEndpoint(lambda b: Answer(content="Let me check.", calls=(Call("get_weather", "{oops"),),
                                        chunk_delay_s=0.01))
    with serve(bad) as url:
        h = harness({}, make_config(["bad"], urls={"bad": url + "/v1"}))
        r = await h.chat(tools=TOOLS, stream=True)
    assert _text(r) == "Let me check."
    assert '"tool_calls"' not in r.text  # the invalid call never reached the client
    assert orjson.loads(r.text.strip().splitlines()[-1][6:])["error"]["code"] == "tool_call_invalid"
    assert h.total() == 1


async def test_all_upstreams_down(harness: Any) -> None:
    urls = {n: f"http://127.0.0.1:{free_port()}/v1" for n in ("a", "b")}
    h = harness({}, make_config(["a", "b"], urls=urls))
    for stream in (False, True):
        r = await h.chat(stream=stream)
        assert r.status_code == 503
        err = r.json()["error"]
        assert err["code"] == "upstreams_failed" and set(err["parity"]["endpoints"]) == {"a", "b"}
        assert "connect_error" in err["message"]
    assert h.metric("parity_gateway_requests_total", model="m", outcome="upstreams_failed") == 2
    assert h.total() == 2


async def test_client_disconnect_mid_stream_is_counted_and_upstream_closed(harness: Any) -> None:
    from parity.gateway import create_app

    slow = FakeEndpoint(lambda b: Answer(content="x" * 400, chunk_delay_s=0.02))
    with serve(slow) as up_url:
        app = create_app(make_config(["slow"], urls={"slow": up_url + "/v1"}))
        gw = app.state.gateway
        with serve(app) as url:
            async with httpx.AsyncClient() as client:
                body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
                async with client.stream("POST", url + "/v1/chat/completions", json=body) as r:
                    async for _ in r.aiter_raw():
                        break  # the client goes away after the first bytes
            reg = gw.metrics.registry
            for _ in range(200):  # the server notices on its own schedule; poll, no timing assumption
                if reg.get_sample_value("parity_gateway_requests_total",
                                        {"model": "m", "outcome": "client_disconnect"}):
                    break
                await asyncio.sleep(0.02)
            assert reg.get_sample_value("parity_gateway_requests_total",
                                        {"model": "m", "outcome": "client_disconnect"}) == 1
            # the endpoint is not blamed for the client leaving
            assert gw.stats["slow"].errors.k == 0

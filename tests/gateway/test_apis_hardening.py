"""/v1/responses and /v1/completions get chat's guarantees: scrubbed answers and frames, the
same door, answers bounded by max_response_bytes, client-safe errors, shared attribution."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from parity.gateway._scrub import MASK, Scrubber

from .conftest import make_config
from .test_door import REJECTED
from .test_scrub import API_KEY, HEADER, PASSWORD, leaked

SECRETS = [API_KEY, HEADER, PASSWORD]


class ApiReflector:
    """An upstream serving /v1/responses and /v1/completions (streamed or not) whose text is
    everything it was sent: the operator's key and header values included."""

    def __init__(self, mode: str = "ok", piece: int = 3, pad: int = 0) -> None:
        self.mode, self.piece, self.pad = mode, piece, pad

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        req = orjson.loads(body)
        echo = " ".join(f"{k.decode()}={v.decode()}" for k, v in scope["headers"]) + f" url-password={PASSWORD}"
        text = f"I was sent: {echo}" + "x" * self.pad
        if self.mode == "http400":
            return await _send(send, 400, orjson.dumps({"error": {"message": f"bad, you sent {echo}"}}))
        if self.mode == "http500":
            return await _send(send, 500, f"<html>10.1.2.3:8000 failed: {echo}</html>".encode(), b"text/html")
        responses = scope["path"].endswith("/responses")
        if not req.get("stream"):
            answer = _response(text) if responses else {
                "id": f"cmpl-{API_KEY}", "object": "text_completion", "model": HEADER,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop",
                             "logprobs": {"tokens": text.split("-")}}]}
            return await _send(send, 200, orjson.dumps(answer))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        pieces = [text[i:i + self.piece] for i in range(0, len(text), self.piece)]
        for p in pieces:
            await send({"type": "http.response.body", "more_body": True, "body": _event(
                "response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta=p,
                logprobs=[{"token": p, "logprob": -0.1}]) if responses else _chunk(p)})
        end = (_event("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text=text)
               + _event("response.completed", response=_response(text))) if responses \
            else _chunk("", "stop") + b"data: [DONE]\n\n"
        await send({"type": "http.response.body", "body": end})


def _response(text: str) -> dict[str, Any]:
    return {"id": f"resp-{API_KEY}", "object": "response", "status": "completed", "model": HEADER,
            "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}]}


def _event(kind: str, **fields: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def _chunk(text: str, finish: str | None = None) -> bytes:
    return b"data: " + orjson.dumps({"id": "c", "object": "text_completion", "choices": [
        {"index": 0, "text": text, "finish_reason": finish, "logprobs": {"tokens": [text]}}]}) + b"\n\n"


async def _send(send: Any, status: int, body: bytes, ctype: bytes = b"application/json") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype)]})
    await send({"type": "http.response.body", "body": body})


def _config(names: list[str], **server: Any) -> Any:
    return make_config(names, urls={n: f"http://user:{PASSWORD}@{n}.test/v1" for n in names},
                       endpoint={"api_key_env": "KEY", "headers": {"x-provider-key": HEADER}},
                       **({"server": server} if server else {}))


async def _post(h: Any, api: str, **body: Any) -> httpx.Response:
    field = {"input": "hi"} if api == "responses" else {"prompt": "hi"}
    r: httpx.Response = await h.client.post(f"/v1/{api}", json={"model": "m", **field, **body})
    return r


def _deltas(raw: str) -> tuple[str, str]:
    """The text a client reassembles from a stream, and its logprob tokens."""
    text, tokens = [], []
    for block in raw.split("\n\n"):
        data = next((line[6:] for line in block.splitlines() if line.startswith("data: {")), None)
        if data is None:
            continue
        obj = orjson.loads(data)
        if obj.get("type") == "response.output_text.delta":
            text.append(obj["delta"])
            tokens += [t["token"] for t in obj.get("logprobs") or []]
        for c in obj.get("choices") or []:
            text.append(c.get("text") or "")
            tokens += (c.get("logprobs") or {}).get("tokens") or []
    return "".join(text), "".join(tokens)


@pytest.mark.parametrize("api", ["responses", "completions"])
async def test_reflected_secrets_are_scrubbed_from_bodies(harness: Any, api: str) -> None:
    h = harness({"a": ApiReflector()}, _config(["a"]), environ={"KEY": API_KEY})
    r = await _post(h, api)
    assert r.status_code == 200, r.text
    assert "x-provider-key=***" in r.text and leaked(r.content) == [] and leaked(str(r.headers)) == []


@pytest.mark.parametrize("api", ["responses", "completions"])
@pytest.mark.parametrize("piece", [1, 2, 5, 64])
async def test_reflected_secrets_split_over_frames_are_scrubbed(harness: Any, api: str, piece: int) -> None:
    h = harness({"a": ApiReflector(piece=piece)}, _config(["a"]), environ={"KEY": API_KEY})
    r = await _post(h, api, stream=True)
    assert r.status_code == 200 and leaked(r.content) == []
    text, tokens = _deltas(r.text)
    assert text.startswith("I was sent: ") and "x-provider-key=***" in text and f"url-password={MASK}" in text
    assert tokens and leaked(tokens) == []  # logprobs travel with held text; a secret's are dropped


@pytest.mark.parametrize("kind", ["response.output_text", "response.function_call_arguments",
                                  "response.reasoning_text", "response.reasoning_summary_text"])
def test_a_secret_split_at_every_position_over_responses_events_is_caught(kind: str) -> None:
    s = Scrubber(SECRETS)
    ids = {"item_id": "it_1", "output_index": 1, "content_index": 0}
    for k in range(1, len(API_KEY)):
        st = s.stream()
        out = b"".join(st.frame(_event(f"{kind}.delta", **ids, delta=p))
                       for p in ["say ", API_KEY[:k], API_KEY[k:], " ok sk-"])
        assert not out.endswith(b'sk-"}\n\n')  # the trailing "sk-" may begin a secret: held...
        out += st.frame(_event(f"{kind}.done", **ids, text=f"say {API_KEY} ok sk-"))
        out += st.frame(_event("response.completed", response={}))
        assert API_KEY.encode() not in out
        deltas = [orjson.loads(b.partition(b"\ndata: ")[2]) for b in out.split(b"\n\n") if b"\ndata: " in b]
        assert "".join(d["delta"] for d in deltas if d["type"] == f"{kind}.delta") == f"say {MASK} ok sk-"
        done = next(i for i, d in enumerate(deltas) if d["type"] == f"{kind}.done")
        # ...then released
        assert deltas[done - 1]["type"] == f"{kind}.delta" and deltas[done - 1]["delta"].endswith("sk-")


def test_held_responses_text_goes_out_before_the_end_or_at_flush() -> None:
    st = Scrubber([API_KEY]).stream()
    first = st.frame(_event("response.output_text.delta", item_id="m", output_index=0, content_index=0,
                            delta="ends with sk-MARK"))
    assert b"sk-MARK" not in first
    assert b"sk-MARK" in b"".join(st.flush())
    other = Scrubber([API_KEY]).stream()
    other.frame(_event("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="x sk-"))
    out = other.frame(_event("response.completed", response={}))
    assert out.index(b'"delta":"sk-"') < out.index(b"event: response.completed")  # released before the end


def test_a_secret_split_at_every_position_over_completions_chunks_is_caught() -> None:
    s = Scrubber(SECRETS)
    for k in range(1, len(API_KEY)):
        st = s.stream()
        out = [st.frame(_chunk(p)) for p in ["say ", API_KEY[:k], API_KEY[k:], " ok"]] + [st.frame(_chunk("", "stop"))]
        text, tokens = _deltas(b"".join(out).decode())
        assert text == f"say {MASK} ok" and API_KEY not in tokens and tokens.startswith("say")


def test_chat_frames_are_unchanged_by_the_other_apis() -> None:
    st = Scrubber([API_KEY]).stream()
    frame = b'data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'
    assert st.frame(frame) is frame  # the hot path: nothing parsed into a new frame


@pytest.mark.parametrize("api", ["responses", "completions"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", ["http400", "http500"])
async def test_error_texts_are_the_public_ones(harness: Any, api: str, stream: bool, mode: str) -> None:
    h = harness({"a": ApiReflector(mode)}, _config(["a"]), environ={"KEY": API_KEY})
    r = await _post(h, api, stream=stream)
    assert r.status_code == (400 if mode == "http400" else 503)
    assert leaked(r.content) == [] and "<html" not in r.text and "10.1.2.3" not in r.text
    assert "Error:" not in r.json()["error"]["message"]


@pytest.mark.parametrize("api", ["responses", "completions"])
async def test_deep_bodies_are_a_400_at_the_door(harness: Any, api: str) -> None:
    h = harness({"a": ApiReflector()}, _config(["a"]), environ={"KEY": API_KEY})
    r = await _post(h, api, x=orjson.loads(b"[" * 300 + b"]" * 300))
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_deep"


def _flat(tools: Any) -> Any:
    """A chat tools list in Responses' flat shape."""
    if not isinstance(tools, list):
        return tools
    return [{"type": "function", **t["function"]} if isinstance(t, dict) and isinstance(t.get("function"), dict)
            else t for t in tools]


HOSTILE_RESPONSES_TOOLS = [_flat(t) for t in REJECTED[:19]] + [
    [{"type": "function"}], [{"type": "function", "name": "f", "parameters": "x"}], ["f"], [None],
    _flat(REJECTED[25]), {"type": "function"}, "tools"]


@pytest.mark.parametrize("tools", HOSTILE_RESPONSES_TOOLS, ids=range(len(HOSTILE_RESPONSES_TOOLS)))
async def test_hostile_responses_tools_are_a_400_before_any_upstream(harness: Any, tools: Any) -> None:
    seen: list[bytes] = []

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        seen.append(b"called")
        await ApiReflector()(scope, receive, send)

    h = harness({"a": upstream}, _config(["a"]), environ={"KEY": API_KEY})
    r = await _post(h, "responses", tools=tools)
    assert r.status_code == 400, r.text
    assert seen == []


@pytest.mark.parametrize("api", ["responses", "completions"])
@pytest.mark.parametrize("stream", [False, True])
async def test_answers_are_bounded_by_max_response_bytes(harness: Any, api: str, stream: bool) -> None:
    h = harness({"a": ApiReflector(pad=200_000)}, _config(["a"], max_response_bytes=100_000),
                environ={"KEY": API_KEY})
    r = await _post(h, api, stream=stream)
    assert r.status_code == 503 and "x" * 1000 not in r.text and leaked(r.content) == []


async def test_failures_are_attributed_as_for_chat(harness: Any) -> None:
    """One client whose requests no endpoint serves cannot eject an endpoint through any API;
    a failure that another endpoint's success disproves counts, as for chat."""
    cfg = _config(["bad", "good"])
    h = harness({"bad": ApiReflector("http500"), "good": ApiReflector()}, cfg, environ={"KEY": API_KEY})
    for _ in range(6):
        body = {"model": "m", "input": "hi", "provider": {"order": ["bad", "good"]}}
        assert (await h.client.post("/v1/responses", json=body)).status_code == 200
    assert h.gw.ejector.admitted()["bad"] is False
    alone = harness({"x": ApiReflector("http500")}, _config(["x"]), environ={"KEY": API_KEY})
    for _ in range(6):
        assert (await _post(alone, "completions")).status_code == 503
    assert alone.gw.ejector.admitted() == {"x": True}


class _Injector:
    """A Responses upstream whose event type carries a line break (an injected SSE line), or
    whose JSON spans several ``data:`` lines (valid SSE: they join with a line break);
    nothing of it may reach the client as a line of its own."""

    def __init__(self, kind: str, multiline: bool = False) -> None:
        self.kind, self.multiline = kind, multiline

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        sep = b"\ndata: " if self.multiline else b""
        delta = orjson.dumps({"type": self.kind, "item_id": "m", "output_index": 0, "content_index": 0,
                              "delta": "Hello"}).replace(b",", b"," + sep)
        done = orjson.dumps({"type": "response.completed", "response": _response("Hello")})
        await send({"type": "http.response.body", "body": b"data: " + delta + b"\n\ndata: " + done + b"\n\n"})


async def test_an_event_type_cannot_inject_lines_into_the_client_stream(harness: Any) -> None:
    bad = "response.output_text.delta\ndata: {\"injected\": true}\n\nevent: x"
    h = harness({"a": _Injector(bad), "b": _Injector("response.output_text.delta", multiline=True)},
                _config(["a", "b"]), environ={"KEY": API_KEY})
    r = await h.client.post("/v1/responses", json={"model": "m", "input": "hi", "stream": True,
                                                   "provider": {"order": ["a", "b"]}})
    assert r.status_code == 200, r.text
    assert "injected" not in r.text and r.headers["x-parity-endpoint"] == "b"
    lines = [ln for ln in r.text.splitlines() if ln]
    assert all(ln.startswith(("event: ", "data: ")) for ln in lines), lines
    assert _deltas(r.text)[0] == "Hello"

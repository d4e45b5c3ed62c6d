"""No configured secret reaches a gateway client, even when the upstream reflects them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest

from parity.gateway._scrub import MASK, Scrubber

from .conftest import make_config

API_KEY = "sk-MARKER-apikey-0123456789abcdef"
HEADER = "hdr-MARKER-provider-secret-42"
PASSWORD = "pw-MARKER-in-url-77"
MARKERS = (API_KEY, HEADER, PASSWORD)


def leaked(text: str | bytes) -> list[str]:
    t = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [m for m in MARKERS if m in t or json.dumps(m)[1:-1] in t]


class Reflector:
    """An upstream that puts everything it was sent (headers, and the URL password it 'knows')
    into its answer: the content, the id, the model name, error messages."""

    def __init__(self, mode: str = "ok", piece: int = 3, split_reads: bool = False, escape: bool = False) -> None:
        self.mode, self.piece, self.split_reads, self.escape = mode, piece, split_reads, escape

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        req = orjson.loads(body)
        echo = " ".join(f"{k.decode()}={v.decode()}" for k, v in scope["headers"]) + f" url-password={PASSWORD}"
        if self.mode == "http400":
            return await _send(send, 400, {"error": {"message": f"bad request, you sent {echo}"}})
        if self.mode == "http500":
            page = f"<html><body>upstream 10.1.2.3:8000 failed: {echo}</body></html>".encode()
            return await _send(send, 500, page, ctype=b"text/html")
        if not req.get("stream"):
            return await _send(send, 200, {
                "id": f"chatcmpl-{API_KEY}", "object": "chat.completion", "model": HEADER,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"I was sent: {echo}"},
                             "logprobs": {"content": [{"token": t, "logprob": -0.1} for t in echo.split("-")]}}]})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        text = f"I was sent: {echo}"
        for i in range(0, len(text), self.piece):
            chunk = {"id": "c1", "choices": [{"index": 0, "delta": {"content": text[i:i + self.piece]},
                                              "logprobs": {"content": [{"token": text[i:i + self.piece]}]}}]}
            raw = orjson.dumps(chunk)
            if self.escape:  # a JSON encoder that escapes every non-space character: still the same text
                raw = raw.replace(b"MARKER", b"\\u004dARKER")
            frame = b"data: " + raw + b"\n\n"
            if self.split_reads:
                half = len(frame) // 2
                await send({"type": "http.response.body", "body": frame[:half], "more_body": True})
                frame = frame[half:]
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        end = orjson.dumps({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        await send({"type": "http.response.body", "body": b"data: " + end + b"\n\ndata: [DONE]\n\n"})


async def _send(send: Any, status: int, payload: Any, ctype: bytes = b"application/json") -> None:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype)]})
    await send({"type": "http.response.body", "body": body})


def _config(names: list[str]) -> Any:
    return make_config(names, urls={n: f"http://user:{PASSWORD}@{n}.test/v1" for n in names},
                       endpoint={"api_key_env": "KEY", "headers": {"x-provider-key": HEADER}})


def _stream_text(r: httpx.Response) -> str:
    out = []
    for line in r.text.splitlines():
        if line.startswith("data: {"):
            for c in orjson.loads(line[6:]).get("choices", []):
                out.append(c["delta"].get("content") or "")
    return "".join(out)


async def test_reflected_secrets_are_scrubbed_from_a_body(harness: Any) -> None:
    h = harness({"a": Reflector()}, _config(["a"]), environ={"KEY": API_KEY})
    r = await h.chat()
    assert r.status_code == 200
    content = r.json()["choices"][0]["message"]["content"]
    assert "x-provider-key=***" in content and f"Bearer {MASK}" in content  # the upstream did reflect them
    assert leaked(r.content) == [] and leaked(str(r.headers)) == []
    assert r.json()["choices"][0]["logprobs"] is None  # its tokens would spell the secret out


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 7, 64])
@pytest.mark.parametrize("split_reads", [False, True])
async def test_reflected_secrets_split_over_frames_are_scrubbed(harness: Any, piece: int, split_reads: bool) -> None:
    h = harness({"a": Reflector(piece=piece, split_reads=split_reads)}, _config(["a"]), environ={"KEY": API_KEY})
    r = await h.chat(stream=True)
    assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
    assert leaked(r.content) == []
    text = _stream_text(r)
    assert "x-provider-key=***" in text and f"url-password={MASK}" in text
    assert text.startswith("I was sent: ")  # everything else arrives, in order
    tokens = "".join(t["token"] for line in r.text.splitlines() if line.startswith("data: {")
                     for c in orjson.loads(line[6:])["choices"] for t in (c.get("logprobs") or {}).get("content", []))
    assert leaked(tokens) == [] and tokens  # logprobs of held text travel with it; a secret's are dropped


async def test_escaped_secrets_in_frames_are_scrubbed(harness: Any) -> None:
    h = harness({"a": Reflector(piece=4, escape=True)}, _config(["a"]), environ={"KEY": API_KEY})
    r = await h.chat(stream=True)
    assert leaked(r.content) == [] and "x-provider-key=***" in _stream_text(r)


@pytest.mark.parametrize("mode", ["http400", "http500"])
@pytest.mark.parametrize("stream", [False, True])
async def test_error_messages_carry_no_secret_nor_upstream_internals(harness: Any, mode: str, stream: bool) -> None:
    h = harness({"a": Reflector(mode)}, _config(["a"]), environ={"KEY": API_KEY})
    r = await h.chat(stream=stream)
    assert r.status_code == (400 if mode == "http400" else 503)
    assert leaked(r.content) == []
    msg = r.json()["error"]["message"]
    assert "<html" not in r.text and "10.1.2.3" not in r.text and "Error:" not in msg


def test_a_secret_split_at_every_position_is_caught() -> None:
    s = Scrubber([API_KEY])
    for pieces in ([API_KEY[:k], API_KEY[k:]] for k in range(1, len(API_KEY))):
        st = s.stream()
        out = [st.frame(_frame(p)) for p in ["say ", *pieces, " ok"]]
        out.append(st.frame(_frame("", finish="stop")))
        text = "".join(_delta(f) for f in out)
        assert API_KEY not in text and text.endswith(" ok")
        assert text.startswith("say ") and MASK in text


def test_held_text_that_is_no_secret_is_released_unchanged() -> None:
    s = Scrubber([API_KEY])
    st = s.stream()
    out = [st.frame(_frame(p)) for p in ["the key sk-MARK", "ER-apikey is not whole"]]
    out.append(st.frame(_frame("", finish="stop")))
    assert "".join(_delta(f) for f in out) == "the key sk-MARKER-apikey is not whole"


def test_held_text_at_the_end_of_a_stream_is_flushed() -> None:
    st = Scrubber([API_KEY]).stream()
    first = st.frame(_frame("ends with sk-MARK"))
    assert _delta(first) == "ends with "
    assert [_delta(f) for f in st.flush()] == ["sk-MARK"]


def test_short_values_are_not_secrets_and_nothing_configured_is_a_no_op() -> None:
    assert Scrubber(["abc"]).body(b"abc abc") == b"abc abc"
    assert Scrubber([]).stream().frame(b"data: {}\n\n") == b"data: {}\n\n"


def _frame(text: str, finish: str | None = None) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": {"content": text},
                                                   "finish_reason": finish}]}) + b"\n\n"


def _delta(frame: bytes) -> str:
    return str(orjson.loads(frame[6:])["choices"][0]["delta"].get("content") or "")

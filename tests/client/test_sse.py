from __future__ import annotations

import orjson
import pytest

from parity.client import StreamAssembler, StreamError, iter_sse_data


def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    return orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def test_events_split_across_reads_and_crlf() -> None:
    buf = bytearray()
    assert iter_sse_data(buf, b"data: {\"a\"") == []
    assert iter_sse_data(buf, b": 1}\r\n\r\ndata: [DONE]\n\n") == [b'{"a": 1}', b"[DONE]"]


def test_comments_and_multiline_data() -> None:
    buf = bytearray()
    assert iter_sse_data(buf, b": keep-alive\n\ndata: a\ndata: b\n\n") == [b"a\nb"]


def test_second_id_for_an_index_and_gaps_are_anomalies() -> None:
    asm = StreamAssembler()
    asm.feed(chunk({"tool_calls": [{"index": 0, "id": "x", "function": {"name": "f", "arguments": "{}"}}]}))
    asm.feed(chunk({"tool_calls": [{"index": 0, "id": "y", "function": {"arguments": ""}}]}))
    asm.feed(chunk({"tool_calls": [{"index": 2, "id": "z", "function": {"name": "g", "arguments": "{}"}}]},
                   "tool_calls"))
    asm.feed(b"[DONE]")
    body = asm.result()
    assert asm.done and len(body["choices"][0]["message"]["tool_calls"]) == 2
    assert any("second id" in a for a in asm.anomalies)
    assert any("not 0..n-1" in a for a in asm.anomalies)


def test_error_event_raises() -> None:
    with pytest.raises(StreamError):
        StreamAssembler().feed(b'{"error": {"message": "overloaded"}}')


def _reference_payload(event: bytes) -> bytes | None:
    """SSE's rule for one event: its data lines, the 'data:' and leading spaces cut, joined by \\n."""
    data = [line[5:].lstrip(b" ") for line in event.replace(b"\r\n", b"\n").split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(data) if data else None


@pytest.mark.parametrize("events", [
    [b"data: {\"a\": 1}", b"data:{\"b\": 2}", b"data:   [DONE]"],
    [b"data: one\ndata: two", b": comment", b"event: x\ndata: y", b"data:"],
    [b"data: a\rb", b"data: z", b"id: 7"],
])
@pytest.mark.parametrize("sep", [b"\n\n", b"\r\n\r\n"])
def test_sse_payloads_follow_the_rule_on_every_path(events: list[bytes], sep: bytes) -> None:
    """One-line events take a short path; every event's payload is the rule's, in order, split anywhere."""
    raw = b"".join((e.replace(b"\n", b"\r\n") if sep == b"\r\n\r\n" else e) + sep for e in events)
    expected = [p for e in events if (p := _reference_payload(e)) is not None]
    for cut in range(len(raw) + 1):
        buffer = bytearray()
        assert iter_sse_data(buffer, raw[:cut]) + iter_sse_data(buffer, raw[cut:]) == expected
        assert not buffer

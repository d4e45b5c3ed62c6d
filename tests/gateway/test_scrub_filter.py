"""The scrubber's frame pre-filter (``_scrub_filter``): frames it lets through unparsed are exactly
those the full pass would have sent unchanged, over streams that reflect secrets whole, cut short,
split at random places, escaped, in every API's frame shape."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

from parity.gateway._scrub import Scrubber
from parity.gateway._scrub_filter import DEPTH, risky

SECRETS = ("sk-upstream-a1b2c3d4e5f60718a1b2c3d4e5f60718", "hdr-secret-0f1e2d3c", 'we"ird\\sec/ret',
           "ünï-cødé-sëcret", "a" * (DEPTH + 20) + "tail")
ALPHABET = "abcdehknrsuw-\"\\/ü ."


def _texts(rnd: random.Random, secrets: tuple[str, ...]) -> list[str]:
    """Some text around a secret (whole or cut short), cut into 1 to 6 pieces."""
    s = rnd.choice(secrets)
    noise = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 10)))
    text = noise + (s if rnd.random() < 0.5 else s[:rnd.randint(1, len(s))]) + noise[:rnd.randint(0, 5)]
    cuts = sorted(rnd.sample(range(len(text) + 1), min(len(text) + 1, rnd.randint(1, 6))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def _encode(obj: Any, rnd: random.Random) -> bytes:
    r = rnd.random()
    if r < 0.1:
        return json.dumps(obj).encode()  # \\u escapes: always the full pass
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if r < 0.25 else None)


def _chat(rnd: random.Random, secrets: tuple[str, ...]) -> list[bytes]:
    frames = []
    for p in _texts(rnd, secrets):
        key = rnd.choice(["content", "reasoning_content", "tool"])
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": p}}]} if key == "tool" else {key: p}
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
        if rnd.random() < 0.3:
            choice["logprobs"] = {"content": [{"token": p, "logprob": -0.1}]}
        frames.append(b"data: " + _encode({"id": "x", "choices": [choice]}, rnd) + b"\n\n")
    return [*frames, b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + b"\n\n"]


def _completions(rnd: random.Random, secrets: tuple[str, ...]) -> list[bytes]:
    frames = [b"data: " + _encode({"choices": [{"index": 0, "text": p, "finish_reason": None}]}, rnd) + b"\n\n"
              for p in _texts(rnd, secrets)]
    return [*frames, b'data: {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}\n\n']


def _responses(rnd: random.Random, secrets: tuple[str, ...]) -> list[bytes]:
    ids = {"item_id": "i", "output_index": 0, "content_index": 0}
    frames = [b"event: response.output_text.delta\ndata: "
              + _encode({"type": "response.output_text.delta", **ids, "delta": p}, rnd) + b"\n\n"
              for p in _texts(rnd, secrets)]
    done = {"type": "response.output_text.done", **ids, "text": "x"}
    return [*frames, b"event: response.output_text.done\ndata: " + orjson.dumps(done) + b"\n\n",
            b'event: response.completed\ndata: {"type": "response.completed"}\n\n']


MANY = tuple(f"{c}-secret-{c * 3}-0f1e2d" for c in "bcdefgijlmo")  # more first bytes than MAX_PATTERNS


@pytest.mark.parametrize("secrets", [SECRETS, SECRETS + MANY], ids=["few", "many"])
@pytest.mark.parametrize("api", [_chat, _completions, _responses])
def test_frames_let_through_unparsed_are_those_the_full_pass_sends_unchanged(api: Any,
                                                                            secrets: tuple[str, ...]) -> None:
    rnd = random.Random(api.__name__)
    filtered, full = Scrubber(secrets), Scrubber(secrets)
    full.inert = lambda frame: False  # type: ignore[method-assign]
    assert (len(filtered._risky) == 2) == (secrets is not SECRETS)  # one pattern for many first bytes
    skipped = 0
    for _ in range(1000):
        frames = api(rnd, secrets)
        a, b = filtered.stream(), full.stream()
        for f in frames:
            out = a.frame(f)
            assert out == b.frame(f), frames
            skipped += out is f
        assert a.flush() == b.flush()
    assert skipped > 300  # the filter does let frames through (else this tests nothing)


def test_every_prefix_before_a_closing_quote_is_caught_and_clean_frames_pass() -> None:
    scrubber = Scrubber(SECRETS)
    for s in SECRETS:
        for k in range(1, len(s)):
            frame = b"data: " + orjson.dumps({"choices": [{"delta": {"content": "see " + s[:k]}}]}) + b"\n\n"
            assert not scrubber.inert(frame), (s, k)
    clean = b'data: {"choices": [{"index": 0, "delta": {"content": "current weather "}}]}\n\n'
    assert scrubber.inert(clean)
    for s in SECRETS:  # whole, in any form, in any frame (not only JSON)
        for form in {s.encode(), orjson.dumps(s)[1:-1], json.dumps(s)[1:-1].encode()}:
            assert not scrubber.inert(b"event: x\ndata: " + form + b" and more\n\n"), (s, form)
    assert len(risky([])) == 1  # escapes only: with no secret the scrubber is off anyway

"""Scrubbing: no configured secret value ever leaves the gateway toward a client.

An upstream may reflect what it was sent (an echo server, a debugging proxy, a
model told to repeat its headers): its answers can then carry the operator's
API key or a header value. Everything the gateway sends back -- whole bodies,
stream frames, error messages, headers -- passes through a ``Scrubber`` first.

Whole bodies are searched as bytes with one precompiled pattern (the secret as
sent and as JSON can escape it); a hit is replaced by ``***``. A stream cannot
be searched frame by frame alone: a secret reflected token by token arrives
split over several frames. Each text channel of a stream (content, reasoning,
each tool call's name and arguments) is therefore followed across frames: text
ending in the first characters of a secret is held back until the next frame
decides it (a secret completed there is replaced; anything else is released
unchanged, at the latest with the choice's ``finish_reason``). Logprob tokens
spell the same text out: they are held with it, and dropped with a secret.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from parity.config import EndpointConfig

log = logging.getLogger("parity.gateway")

MASK = "***"
MIN_SECRET_CHARS = 6  # shorter values match ordinary text; they are reported at start-up, not scrubbed
_TEXT_KEYS = ("content", "reasoning_content", "reasoning", "refusal")


def endpoint_secrets(cfg: EndpointConfig, api_key: str | None) -> list[str]:
    """Every secret value an endpoint is configured with: its key, header values, URL password."""
    found = [v for v in (api_key, *cfg.headers.values()) if v]
    password = urlsplit(cfg.base_url).password
    if password:
        found += [password, unquote(password)]
    return found


def _encodings(secret: str) -> set[bytes]:
    """The byte forms a secret takes in an answer: as is, and as JSON encoders escape it."""
    forms = {secret.encode("utf-8"), orjson.dumps(secret)[1:-1], json.dumps(secret)[1:-1].encode("ascii")}
    forms |= {f.replace(b"/", b"\\/") for f in forms}
    return forms


class Scrubber:
    """Replaces configured secret values in what goes to clients."""

    def __init__(self, secrets: Iterable[str]) -> None:
        kept: set[str] = set()
        for s in secrets:
            if len(s) >= MIN_SECRET_CHARS:
                kept.add(s)
            else:
                log.warning("parity gateway: a configured secret value is shorter than %d characters "
                            "and cannot be scrubbed from answers without mangling them", MIN_SECRET_CHARS)
        self.secrets = tuple(sorted(kept, key=len, reverse=True))
        self.enabled = bool(self.secrets)
        forms = sorted({f for s in self.secrets for f in _encodings(s)}, key=len, reverse=True)
        self._bytes = re.compile(b"|".join(re.escape(f) for f in forms)) if forms else None
        self._text = re.compile("|".join(re.escape(s) for s in self.secrets)) if self.secrets else None
        self._prefixes = {s[:k] for s in self.secrets for k in range(1, len(s))}
        self._firsts = {s[0] for s in self.secrets}
        self._maxlen = max((len(s) for s in self.secrets), default=0)

    def body(self, data: bytes) -> bytes:
        """A whole answer (JSON or not). On a hit, logprobs go too: their tokens spell the secret."""
        if self._bytes is None or self._bytes.search(data) is None:
            return data
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._bytes.sub(MASK.encode(), data)
        if isinstance(obj, dict) and isinstance(obj.get("choices"), list):
            for choice in obj["choices"]:
                if isinstance(choice, dict) and choice.get("logprobs") is not None:
                    choice["logprobs"] = None
            data = orjson.dumps(obj)
        return self._bytes.sub(MASK.encode(), data)

    def text(self, s: str) -> str:
        return s if self._text is None else self._text.sub(MASK, s)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: self.text(v) for k, v in headers.items()}

    def stream(self) -> StreamScrubber:
        return StreamScrubber(self)

    def hold_len(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that begins some secret."""
        start = max(0, len(text) - self._maxlen + 1)
        best = 0
        for c in self._firsts:
            i = text.find(c, start)
            while i != -1 and len(text) - i > best:
                if text[i:] in self._prefixes:
                    best = len(text) - i
                    break
                i = text.find(c, i + 1)
        return best


class StreamScrubber:
    """One stream's frames, in order; ``flush`` gives back text still held at the end."""

    def __init__(self, scrubber: Scrubber) -> None:
        self._s = scrubber
        self._held: dict[tuple[Any, ...], str] = {}  # channel -> text not sent yet: it may begin a secret
        self._held_lp: dict[Any, list[Any]] = {}  # choice -> logprobs of the held text

    def frame(self, frame: bytes) -> bytes:
        s = self._s
        if s._bytes is None:
            return frame
        if frame.startswith(b"data: {"):
            try:
                obj = orjson.loads(frame[6:])
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                for choice in obj.get("choices") or ():
                    if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                        self._choice(choice)
                # re-encoded: a secret the upstream escaped oddly (\\u0073k-...) is now plain
                frame = b"data: " + orjson.dumps(obj) + b"\n\n"
        return s._bytes.sub(MASK.encode(), frame)

    def _choice(self, choice: dict[str, Any]) -> None:
        delta: dict[str, Any] = choice["delta"]
        idx = choice.get("index", 0)
        replaced = False
        for key in _TEXT_KEYS:
            if isinstance(delta.get(key), str):
                delta[key], hit = self._feed((idx, key), delta[key])
                replaced = replaced or hit
        calls = delta.get("tool_calls")
        for n, tc in enumerate(calls if isinstance(calls, list) else []):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict):
                continue
            ti = tc.get("index", n)
            for key in ("name", "arguments"):
                if isinstance(fn.get(key), str):
                    fn[key], hit = self._feed((idx, "tool", ti, key), fn[key])
                    replaced = replaced or hit
        if choice.get("finish_reason") is not None:
            self._release(idx, delta)
        self._logprobs(idx, choice, replaced)

    def _logprobs(self, idx: Any, choice: dict[str, Any], replaced: bool) -> None:
        """Logprob tokens spell the text out: they travel with it, held while it is held, and
        are dropped with a secret."""
        lp = choice.get("logprobs")
        tokens = lp.get("content") if isinstance(lp, dict) else None
        held = self._held_lp.pop(idx, [])
        if replaced:
            if lp is not None:
                choice["logprobs"] = None
            return
        if isinstance(tokens, list):
            held += tokens
        if any(k[0] == idx for k in self._held):
            self._held_lp[idx] = held
            if lp is not None:
                choice["logprobs"] = None
        elif held:
            choice["logprobs"] = {**(lp if isinstance(lp, dict) else {}), "content": held}

    def _release(self, idx: Any, delta: dict[str, Any]) -> None:
        """The choice ends: text held back was no secret after all, and goes with this frame."""
        for key in [k for k in self._held if k[0] == idx]:
            text = self._held.pop(key)
            if key[1] != "tool":
                delta[key[1]] = (delta.get(key[1]) or "") + text
                continue
            calls = delta.setdefault("tool_calls", [])
            entry = next((c for c in calls if isinstance(c, dict) and c.get("index") == key[2]), None)
            if entry is None:
                entry = {"index": key[2], "function": {}}
                calls.append(entry)
            fn = entry.setdefault("function", {})
            fn[key[3]] = (fn.get(key[3]) or "") + text

    def _feed(self, key: tuple[Any, ...], text: str) -> tuple[str, bool]:
        """The part of ``text`` that may go now, and whether a secret was replaced."""
        s = self._s
        assert s._text is not None
        pending = self._held.pop(key, "") + text
        scrubbed = s._text.sub(MASK, pending)
        keep = s.hold_len(scrubbed)
        if keep:
            self._held[key] = scrubbed[len(scrubbed) - keep:]
        return scrubbed[: len(scrubbed) - keep], scrubbed != pending

    def flush(self) -> list[bytes]:
        """Held text that never became a secret, as frames of its own (sent before the end)."""
        frames = []
        for key, text in self._held.items():
            if key[1] == "tool":
                delta: dict[str, Any] = {"tool_calls": [{"index": key[2], "function": {key[3]: text}}]}
            else:
                delta = {key[1]: text}
            frames.append(b"data: " + orjson.dumps({"choices": [{"index": key[0], "delta": delta}]}) + b"\n\n")
        self._held.clear()
        return frames

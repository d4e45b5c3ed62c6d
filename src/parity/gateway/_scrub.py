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

import orjson

from parity.config import EndpointConfig
from parity.redaction import Secrets

from ._scrub_filter import risky

log = logging.getLogger("parity.gateway")

MASK = "***"
_MASK = MASK.encode()
MIN_SECRET_CHARS = 6  # shorter values match ordinary text; they are reported at start-up, not scrubbed
_TEXT_KEYS = frozenset({"content", "reasoning_content", "reasoning", "refusal"})
# Responses: what names one text channel, and the events after which no channel goes on
_EVENT_KEYS = ("item_id", "output_index", "content_index", "summary_index")
_TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})


def endpoint_secrets(cfg: EndpointConfig, api_key: str | None) -> list[str]:
    """Every secret value an endpoint is configured with: its key, header values, URL password
    (collected by the one rule in ``parity.redaction``)."""
    return list(Secrets.for_endpoints([cfg], {cfg.name: api_key}).values)


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
        # longest first, so a form that contains another is replaced whole
        self._forms = tuple(sorted({f for s in self.secrets for f in _encodings(s)}, key=len, reverse=True))
        self._prefixes = {s[:k] for s in self.secrets for k in range(1, len(s))}
        firsts = "".join(sorted({re.escape(s[0]) for s in self.secrets}))
        self._firsts = re.compile(f"[{firsts}]" if firsts else "(?!)")
        self._maxlen = max((len(s) for s in self.secrets), default=0)
        self._risky = risky(self._forms)

    # A handful of substring searches (memchr-fast, C) beat one regex alternation by far on the
    # common path, where nothing is found: this runs on every answer and every frame. (``find``,
    # not ``in``: on bytes, ``in`` first tries its operand as an integer and raises and clears a
    # TypeError each time, several times the cost of the search.)
    def found(self, data: bytes) -> bool:
        for f in self._forms:
            if data.find(f) >= 0:
                return True
        return False

    def inert(self, frame: bytes) -> bool:
        """Whether a stream frame, with nothing held from earlier frames, can neither contain nor
        begin a secret (``_scrub_filter``): then it goes out as it came."""
        for p in self._risky:
            if p.search(frame) is not None:
                return False
        return True

    def sub(self, data: bytes) -> bytes:
        for f in self._forms:
            data = data.replace(f, _MASK)
        return data

    def body(self, data: bytes) -> bytes:
        """A whole answer (JSON or not). On a hit, logprobs go too: their tokens spell the secret."""
        if not self.found(data):
            return data
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self.sub(data)
        if isinstance(obj, dict) and isinstance(obj.get("choices"), list):
            for choice in obj["choices"]:
                if isinstance(choice, dict) and choice.get("logprobs") is not None:
                    choice["logprobs"] = None
            data = orjson.dumps(obj)
        elif isinstance(obj, dict) and isinstance(obj.get("output"), list):  # a Responses answer
            for item in obj["output"]:
                for part in item.get("content") or () if isinstance(item, dict) else ():
                    if isinstance(part, dict) and part.get("logprobs"):
                        part["logprobs"] = []
            data = orjson.dumps(obj)
        return self.sub(data)

    def text(self, s: str) -> str:
        for secret in self.secrets:
            if secret in s:
                s = s.replace(secret, MASK)
        return s

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: self.text(v) for k, v in headers.items()}

    def stream(self) -> StreamScrubber:
        return StreamScrubber(self)

    def hold_len(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that begins some secret."""
        for m in self._firsts.finditer(text, max(0, len(text) - self._maxlen + 1)):
            if text[m.start():] in self._prefixes:
                return len(text) - m.start()  # the earliest start is the longest suffix
        return 0


class StreamScrubber:
    """One stream's frames, in order; ``flush`` gives back text still held at the end."""

    def __init__(self, scrubber: Scrubber) -> None:
        self._s = scrubber
        self._held: dict[tuple[Any, ...], str] = {}  # channel -> text not sent yet: it may begin a secret
        self._held_lp: dict[Any, Any] = {}  # choice (or channel) -> logprobs of the held text
        self._events: dict[tuple[Any, ...], str] = {}  # Responses: channel -> held text
        self._fields: dict[tuple[Any, ...], dict[str, Any]] = {}  # channel -> its event's identifying fields

    def frame(self, frame: bytes) -> bytes:
        s = self._s
        if not s.enabled or (not (self._held or self._held_lp or self._events) and s.inert(frame)):
            return frame
        if frame.startswith(b"data: {"):
            try:
                obj = orjson.loads(frame[6:])
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                changed = False
                for choice in obj.get("choices") or ():
                    if isinstance(choice, dict):
                        if isinstance(choice.get("delta"), dict):  # chat: the hot path, checked first
                            changed = self._choice(choice) or changed
                        elif isinstance(choice.get("text"), str):  # /v1/completions
                            changed = self._text_choice(choice) or changed
                # Re-encoded when changed, or when the upstream escaped characters JSON need not
                # escape (\\u0073k-...): then the secret is plain for the search below.
                if changed or frame.find(b"\\u") >= 0 or frame.find(b"\\/") >= 0:
                    frame = b"data: " + orjson.dumps(obj) + b"\n\n"
        elif frame.startswith(b"event: "):  # /v1/responses: one typed event per frame
            return self._event(frame)
        return s.sub(frame) if s.found(frame) else frame

    def _event(self, frame: bytes) -> bytes:
        """A Responses event. Every ``*.delta`` event's text is a channel (output text, call
        arguments, reasoning, ...) keyed by item and indexes; what it holds is released just
        before the channel's ``*.done`` event, or before the response ends."""
        s = self._s
        head, _, payload = frame.partition(b"\ndata: ")
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            obj = None
        kind = obj.get("type") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(kind, str):
            return s.sub(frame) if s.found(frame) else frame
        before, changed = b"", False
        if kind.endswith(".delta") and isinstance(obj.get("delta"), str):
            key = (kind[:-6], *(obj.get(f) for f in _EVENT_KEYS))
            text = obj["delta"]
            obj["delta"], hit = self._feed(key, text, self._events)
            self._fields[key] = {f: obj[f] for f in _EVENT_KEYS if f in obj}
            changed = obj["delta"] != text
            changed = self._carry_logprobs(key, obj, key in self._events, hit) or changed
        elif kind.endswith(".done") or kind in _TERMINAL:
            done = (kind[:-5], *(obj.get(f) for f in _EVENT_KEYS))
            keys = list(self._events) if kind in _TERMINAL else [done] if done in self._events else []
            before = b"".join(self._release_event(k) for k in keys)
        if changed or frame.find(b"\\u") >= 0 or frame.find(b"\\/") >= 0:
            frame = head + b"\ndata: " + orjson.dumps(obj) + b"\n\n"
        return before + (s.sub(frame) if s.found(frame) else frame)

    def _release_event(self, key: tuple[Any, ...]) -> bytes:
        text = self._events.pop(key)
        kind = f"{key[0]}.delta"
        event: dict[str, Any] = {"type": kind, **self._fields.pop(key, {}), "delta": text}
        self._carry_logprobs(key, event, False, False)
        return (b"event: " + kind.replace("\n", "").replace("\r", "").encode() + b"\ndata: "
                + orjson.dumps(event) + b"\n\n")

    def _text_choice(self, choice: dict[str, Any]) -> bool:
        """A completions chunk's choice: ``text`` is its one channel, ``logprobs`` travel with it."""
        key = (choice.get("index", 0), "text")
        text = choice["text"]
        choice["text"], hit = self._feed(key, text)
        if choice.get("finish_reason") is not None and key in self._held:
            choice["text"] += self._held.pop(key)
        changed = choice["text"] != text
        return self._carry_logprobs(key, choice, key in self._held, hit) or changed

    def _carry_logprobs(self, key: Any, holder: dict[str, Any], held: bool, replaced: bool) -> bool:
        """Logprobs (completions, Responses) held while their channel's text is held, merged
        into the next frame that goes, dropped with a secret. True if ``holder`` changed."""
        lp = holder.get("logprobs")
        stash = self._held_lp.pop(key, None)
        if replaced or held:
            if held and not replaced and (lp is not None or stash is not None):
                self._held_lp[key] = _merge(stash, lp)
            if lp is not None:
                holder["logprobs"] = [] if isinstance(lp, list) else None
            return lp is not None
        if stash is not None:
            holder["logprobs"] = _merge(stash, lp)
            return True
        return False

    def _choice(self, choice: dict[str, Any]) -> bool:
        """Scrub one choice's delta in place; True if anything in it changed."""
        delta: dict[str, Any] = choice["delta"]
        idx = choice.get("index", 0)
        replaced = changed = False
        for key, text in delta.items():  # (values are replaced, never added: iterating is safe)
            if key in _TEXT_KEYS and isinstance(text, str):
                delta[key], hit = self._feed((idx, key), text)
                replaced, changed = replaced or hit, changed or delta[key] != text
        calls = delta.get("tool_calls")
        for n, tc in enumerate(calls if isinstance(calls, list) else ()):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict):
                continue
            ti = tc.get("index", n)
            for key in ("name", "arguments"):
                text = fn.get(key)
                if isinstance(text, str):
                    fn[key], hit = self._feed((idx, "tool", ti, key), text)
                    replaced, changed = replaced or hit, changed or fn[key] != text
        if choice.get("finish_reason") is not None and self._held:
            self._release(idx, delta)
            changed = True
        if self._held or self._held_lp or replaced:
            changed = self._logprobs(idx, choice, replaced) or changed
        return changed

    def _logprobs(self, idx: Any, choice: dict[str, Any], replaced: bool) -> bool:
        """Logprob tokens spell the text out: they travel with it, held while it is held, and
        are dropped with a secret."""
        lp = choice.get("logprobs")
        tokens = lp.get("content") if isinstance(lp, dict) else None
        held = self._held_lp.pop(idx, [])
        if replaced:
            choice["logprobs"] = None
            return lp is not None
        if any(k[0] == idx for k in self._held):
            self._held_lp[idx] = held + (tokens if isinstance(tokens, list) else [])
            choice["logprobs"] = None
            return lp is not None
        if held:
            choice["logprobs"] = {**(lp if isinstance(lp, dict) else {}),
                                  "content": held + (tokens if isinstance(tokens, list) else [])}
            return True
        return False

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

    def _feed(self, key: tuple[Any, ...], text: str, into: dict[tuple[Any, ...], str] | None = None,
              ) -> tuple[str, bool]:
        """The part of ``text`` that may go now, and whether a secret was replaced."""
        s = self._s
        holds = self._held if into is None else into
        held = holds.pop(key, None)
        pending = held + text if held else text
        scrubbed = s.text(pending)
        keep = s.hold_len(scrubbed)
        if keep:
            holds[key] = scrubbed[len(scrubbed) - keep:]
            return scrubbed[: len(scrubbed) - keep], scrubbed is not pending
        return scrubbed, scrubbed is not pending

    def flush(self) -> list[bytes]:
        """Held text that never became a secret, as frames of its own (sent before the end)."""
        frames = [self._release_event(k) for k in list(self._events)]
        for key, text in self._held.items():
            if key[1] == "text":  # completions
                choice: dict[str, Any] = {"index": key[0], "text": text}
                self._carry_logprobs(key, choice, False, False)
                frames.append(b"data: " + orjson.dumps({"choices": [choice]}) + b"\n\n")
                continue
            if key[1] == "tool":
                delta: dict[str, Any] = {"tool_calls": [{"index": key[2], "function": {key[3]: text}}]}
            else:
                delta = {key[1]: text}
            frames.append(b"data: " + orjson.dumps({"choices": [{"index": key[0], "delta": delta}]}) + b"\n\n")
        self._held.clear()
        return frames


def _merge(a: Any, b: Any) -> Any:
    """Two frames' logprobs as one: lists joined, dicts of lists joined key by key."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in {**a, **b}}
    return b

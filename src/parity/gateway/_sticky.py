"""Sticky sessions with a guard: affinity that a quality failure breaks, not only an error.

The key is (alias, session, context-size class): the same conversation that
grows past a size class may need an endpoint with a longer context, so it
gets a binding of its own. Without a session header, the conversation's
first messages (system prompt + first user turn) identify it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson

# Upper bounds on the request's message characters (~4 chars per token).
_SIZE_CLASSES = ((16_000, "s"), (128_000, "m"), (512_000, "l"))


def context_class(messages_bytes: int) -> str:
    for limit, label in _SIZE_CLASSES:
        if messages_bytes <= limit:
            return label
    return "xl"


def sticky_key(
    alias: str, session: str | None, messages: Sequence[Any], size: int, prefix_messages: int
) -> str:
    if session:
        ident = b"s:" + session.encode("utf-8", "replace")
    else:
        ident = b"p:" + orjson.dumps(list(messages[:prefix_messages]), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(ident, digest_size=16).hexdigest()
    return f"{alias}|{context_class(size)}|{digest}"


class StickyTable:
    """key -> endpoint with a TTL, bounded (oldest bindings go first)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float], maxsize: int = 100_000) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._max = maxsize
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, key: str) -> str | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[1] < self._clock():
            del self._items[key]
            return None
        return hit[0]

    def bind(self, key: str, endpoint: str) -> None:
        self._items[key] = (endpoint, self._clock() + self._ttl)
        self._items.move_to_end(key)
        if len(self._items) > self._max:
            self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        self._items.pop(key, None)

    def drop_endpoint(self, endpoint: str) -> None:
        """An ejected endpoint loses all its sessions at once."""
        for k in [k for k, (ep, _) in self._items.items() if ep == endpoint]:
            del self._items[k]

    def __len__(self) -> int:
        return len(self._items)

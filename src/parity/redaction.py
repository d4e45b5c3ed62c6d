"""Secrets: every configured secret value, and the one rule that masks them.

Built at the edge from the configuration and the keys read from the
environment: API keys, the values of every configured header (providers put
keys there), and passwords in URLs. Each secret is masked in every form it can
take in text parity writes: as is, JSON-escaped (once or twice, minimal or
ASCII-only, slashes escaped or not), as a Python repr, percent-encoded, and inside an HTTP Basic
credential. A truncated excerpt that ends in the first characters of a secret
is masked too.

Redaction runs *before* anything is stored, rendered or sent: structured
values (an Exchange's request, response, error and excerpts) are walked and
every string (and every mapping key) is masked, so the JSON written afterwards
cannot be corrupted by a replacement, whatever the secret looks like.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import orjson

MASK = "***"
# Shorter values are not secrets worth the name, and masking them ("1", "yes")
# would garble every answer that happens to contain them.
MIN_LENGTH = 4

_NUMBER_CHARS = set("0123456789.eE+-")
_T = TypeVar("_T")


def _forms(secret: str) -> set[str]:
    """The spellings a secret takes in JSON text, URLs and Basic credentials."""
    escaped = orjson.dumps(secret).decode()[1:-1]  # minimal JSON escaping (orjson, pydantic)
    forms = {
        secret,
        escaped,
        orjson.dumps(escaped).decode()[1:-1],  # JSON text inside a JSON string
        json.dumps(secret)[1:-1],  # ASCII-only JSON escaping (Python's json default)
        escaped.replace("/", "\\/"),  # JSON with escaped slashes (PHP, some Java encoders)
        repr(secret)[1:-1],  # a Python repr (a dict of headers formatted into a message)
        quote(secret, safe=""),
        quote(secret, safe="/:@"),
    }
    return {f for f in forms if len(f) >= MIN_LENGTH}


def url_secrets(url: str) -> list[str]:
    """The password of ``scheme://user:password@host`` (decoded and as written) and its Basic form."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if parts.password is None:
        return []
    user, password = parts.username or "", parts.password
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return [password, unquote(password), basic]


class Secrets:
    """A set of secret values and their masking; immutable once built."""

    __slots__ = ("_forms", "_in_json", "_values")

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        kept = {v for v in values if v and len(v) >= MIN_LENGTH}
        self._values: tuple[str, ...] = tuple(sorted(kept, key=len, reverse=True))
        forms: set[str] = set()
        for v in self._values:
            forms |= _forms(v)
        # Longest first: a secret that contains another is masked whole.
        self._forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))
        # Each form as it appears inside serialized JSON (escaping is per character, so a
        # string holding a form serializes to text holding the form's escaped spelling).
        self._in_json: tuple[bytes, ...] = tuple({orjson.dumps(f)[1:-1] for f in forms})

    @classmethod
    def for_endpoints(cls, endpoints: Iterable[Any], keys: Mapping[str, str | None] | None = None) -> Secrets:
        """From endpoint configurations (``headers``, ``base_url``) and their keys by endpoint name."""
        values: list[str | None] = list((keys or {}).values())
        for e in endpoints:
            values.extend(e.headers.values())
            values.extend(url_secrets(e.base_url))
        return cls(values)

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def values(self) -> tuple[str, ...]:
        return self._values

    def text_safe(self) -> list[str]:
        """Values that a plain replace in serialized JSON cannot corrupt (a backstop
        for writers of text): long enough, and never a JSON number or literal."""
        return [v for v in self._values if len(v) >= 8 and not set(v) <= _NUMBER_CHARS]

    def redact(self, text: str, *, excerpt: bool = False) -> str:
        """Every form of every secret masked.

        ``excerpt``: the text was cut from something longer, so a tail that is
        the start of a secret is masked as well.
        """
        if not self._forms:
            return text
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return self._cut_tail(text) if excerpt else text

    def _cut_tail(self, text: str) -> str:
        # The longest tail of at least MIN_LENGTH characters that starts a form (the first form
        # that has one): only where the form's first characters occur near the end, found by
        # str.find (one scan on a clean text, not one endswith per possible length).
        for form in self._forms:
            head = form[:MIN_LENGTH]
            i = text.find(head, max(0, len(text) - len(form) + 1))
            while i >= 0:
                if form.startswith(text[i:]):
                    return text[:i] + MASK
                i = text.find(head, i + 1)
        return text

    def in_json(self, text: bytes) -> bool:
        """Whether serialized JSON holds any secret: one scan, so a clean value costs no walk."""
        return any(f in text for f in self._in_json)

    def redact_value(self, value: _T) -> _T:
        """A JSON-like value with every string (values and keys) redacted; others unchanged
        (the very same object when it holds no secret)."""
        if not self._forms:
            return value
        try:
            if not self.in_json(orjson.dumps(value)):
                return value
        except TypeError:  # not plain JSON (non-string keys...): walk it
            pass
        return self._walk(value)  # type: ignore[no-any-return]

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v) for v in value)
        return value

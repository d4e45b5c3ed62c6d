"""Gateway API keys: only their sha256 is configured; the key itself is never stored."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def hash_key(key: str) -> str:
    """'sha256:<hex>' for a gateway key, as written in the config's api_key_hashes."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyChecker:
    """Accepts a bearer token whose hash is configured; no hashes configured means open."""

    def __init__(self, hashes: Iterable[str]) -> None:
        self._hashes = tuple(hashes)

    @property
    def enabled(self) -> bool:
        return bool(self._hashes)

    def allows(self, authorization: str | None) -> bool:
        if not self._hashes:
            return True
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        digest = hash_key(authorization[7:].strip())
        # compare_digest against every entry: the time taken does not reveal which matched.
        found = False
        for h in self._hashes:
            found = hmac.compare_digest(digest, h) or found
        return found

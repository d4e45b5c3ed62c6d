"""Cases: one request body to send, plus what is expected of the answer."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


def canonical_json(value: Any) -> bytes:
    """Bytes that are equal exactly when the JSON values are equal (sorted keys)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def body_hash(body: dict[str, Any]) -> str:
    """Stable content hash of a request body: the key a stored Exchange is found by."""
    return hashlib.sha256(canonical_json(body)).hexdigest()[:32]


class Case(BaseModel):
    """One chat-completions request body and what is expected of its answer.

    ``body`` is sent as is, except that ``model`` (and the endpoint's
    ``extra_body``) are filled in per endpoint; the hash is taken over the
    body without them so the same Case keys the same way on every endpoint.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable, human-readable identifier, unique within a dataset.")
    body: dict[str, Any] = Field(description="OpenAI chat-completions request body (without `model`).")
    expected: dict[str, Any] = Field(
        default_factory=dict,
        description="What a correct answer looks like, suite-specific (e.g. BFCL possible answers).",
    )
    tags: tuple[str, ...] = Field(default=(), description="Categories, e.g. ('should_call', 'parallel').")

    _hash: str = PrivateAttr(default="")

    def model_post_init(self, __context: Any) -> None:
        self._hash = body_hash({k: v for k, v in self.body.items() if k != "model"})

    @property
    def hash(self) -> str:
        return self._hash

    @property
    def tools(self) -> list[dict[str, Any]]:
        tools = self.body.get("tools") or []
        return [t for t in tools if isinstance(t, dict)]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


def dataset_hash(cases: list[Case]) -> str:
    """Hash of a whole dataset, recorded with each run for reproducibility."""
    h = hashlib.sha256()
    for case in cases:
        h.update(case.id.encode())
        h.update(b"\0")
        h.update(case.hash.encode())
        h.update(canonical_json(case.expected))
        h.update(b"\n")
    return h.hexdigest()[:32]

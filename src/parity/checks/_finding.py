from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Finding(BaseModel):
    """One thing a Check found wrong with an Exchange; ``check`` is a stable dotted name."""

    model_config = ConfigDict(frozen=True)

    check: str = Field(description="Stable name, e.g. 'tool_call.invalid_json'.")
    message: str = Field(description="One readable sentence about this occurrence.")
    tool_call_index: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

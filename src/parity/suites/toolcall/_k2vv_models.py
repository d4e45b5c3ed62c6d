"""Typed records of K2VV's files: its per-request results and its summary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class K2VVResult(BaseModel):
    """One line of K2VV's per-request results file (its ``ValidationResult``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    data_index: int = Field(description="1-based line number of the request in samples.jsonl.")
    request: dict[str, Any] = Field(default_factory=dict, description="The body as sent.")
    response: dict[str, Any] | None = Field(
        default=None, description="The chat.completion (streams reassembled) or {'error': ...}."
    )
    status: str = Field(description="'success' if the request returned, else 'failed'.")
    finish_reason: str | None = Field(default=None, description="choices[0].finish_reason.")
    tool_calls_valid: bool | None = Field(
        default=None,
        description="For finish_reason 'tool_calls': every call's arguments validated; else null.",
    )
    last_run_at: str | None = Field(default=None, description="ISO time; the latest run wins.")
    duration_ms: int = 0
    hash: str = Field(default="", description="K2VV's md5 of the prepared request.")


class K2VVSummary(BaseModel):
    """K2VV's ``summary.json``: the counts its published tables are made of."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model: str = ""
    success_count: int = 0
    failure_count: int = 0
    finish_stop: int = 0
    finish_tool_calls: int = 0
    finish_others: int = 0
    finish_others_detail: dict[str, int] = Field(default_factory=dict)
    schema_validation_error_count: int = 0
    successful_tool_call_count: int = 0

    @property
    def total(self) -> int:
        """Requests summarised, failed ones included."""
        return self.success_count + self.failure_count

    def vector(self) -> tuple[int, int, int, int, int]:
        """The five counts K2VV's similarity compares, in README column order."""
        return (
            self.finish_stop,
            self.finish_tool_calls,
            self.finish_others,
            self.schema_validation_error_count,
            self.successful_tool_call_count,
        )


class K2VVTriggerF1(BaseModel):
    """K2VV's current "ToolCall-Trigger Similarity": F1 of the tool-call decision."""

    model_config = ConfigDict(frozen=True)

    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float

    @property
    def paired(self) -> int:
        """Requests present in both result sets: what the F1 rests on."""
        return self.tp + self.fp + self.fn + self.tn

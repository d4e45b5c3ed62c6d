"""Fault proxy configuration and the deterministic choice of a fault per request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parity.families import FAMILIES, family
from parity.testbed.faults._switch import MisrouteSpec, SwitchSpec
from parity.testbed.faults._throttle import Throttle


class FaultMode(StrEnum):
    """The starred rows of FAILURE-MODES.md, by the name of the check that should catch them."""

    INVALID_JSON = "invalid_json"
    UNKNOWN_NAME = "unknown_name"
    SCHEMA_MISMATCH = "schema_mismatch"
    MARKUP_LEAK = "markup_leak"
    STREAM_LOST_DELTA = "stream_lost_delta"
    STREAM_DUPLICATE_DELTA = "stream_duplicate_delta"
    SAMPLING_OVERRIDE = "sampling_override"
    CONTEXT_TRUNCATION = "context_truncation"
    FOREIGN_SCRIPT = "foreign_script"
    REASONING_LEAK = "reasoning_leak"


# Modes that rewrite the request on its way up; the rest rewrite the answer.
REQUEST_MODES = frozenset({FaultMode.SAMPLING_OVERRIDE, FaultMode.CONTEXT_TRUNCATION})
STREAM_MODES = frozenset({FaultMode.STREAM_LOST_DELTA, FaultMode.STREAM_DUPLICATE_DELTA})
# Modes that corrupt a tool call, synthesising one when the upstream made none.
TOOL_CALL_MODES = frozenset(
    {
        FaultMode.INVALID_JSON,
        FaultMode.UNKNOWN_NAME,
        FaultMode.SCHEMA_MISMATCH,
        FaultMode.MARKUP_LEAK,
    }
    | STREAM_MODES
)

# llama.cpp's own defaults: what a provider that ignores the client's sampling serves.
DEFAULT_SERVER_SAMPLING: dict[str, float] = {
    "temperature": 0.8,
    "top_p": 0.95,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "repeat_penalty": 1.1,
}


class FaultSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: FaultMode
    rate: float = Field(ge=0.0, le=1.0, description="Share of eligible requests faulted.")


class FaultConfig(BaseModel):
    """Everything the proxy needs; serialisable, so a child process can be given a file."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    upstream: str = Field(description="Base URL of the upstream server, without /v1.")
    faults: list[FaultSpec] = Field(default_factory=list)
    seed: int = Field(default=0, description="Mixed into every request's hash.")
    context_budget_chars: int = Field(
        default=2000, gt=0, description="context_truncation keeps at most this many characters."
    )
    server_sampling: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SERVER_SAMPLING))
    annotate: bool = Field(
        default=False, description="Add an x-parity-fault header naming the injected fault."
    )
    timeout_s: float = Field(default=600.0, gt=0)
    leak_families: list[str] = Field(
        default_factory=lambda: ["qwen3"], min_length=1,
        description="Families (parity.families) whose syntax markup_leak and reasoning_leak use; "
                    "each faulted request draws one.")
    templates_dir: str | None = Field(
        default=None, description="Directory of official chat templates (tests/families/templates) "
                                  "that markup_leak renders calls with; needed for families other than qwen3.")
    switch: SwitchSpec | None = Field(default=None, description="Change the upstream at a time.")
    misroute: MisrouteSpec | None = Field(default=None, description="Send a share elsewhere.")
    throttle: Throttle | None = Field(default=None, description="Slow every answer (speed tests).")

    @model_validator(mode="after")
    def _rates(self) -> FaultConfig:
        modes = [f.mode for f in self.faults]
        if len(set(modes)) != len(modes):
            raise ValueError("each fault mode may be given once")
        if sum(f.rate for f in self.faults) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1 (a request gets at most one fault)")
        self.upstream = self.upstream.rstrip("/")
        unknown = [f for f in self.leak_families if family(f) is None]
        if unknown:
            raise ValueError(f"unknown leak families {unknown}; known: {', '.join(x.name for x in FAMILIES)}")
        if FaultMode.MARKUP_LEAK in modes and self.templates_dir is None and set(self.leak_families) != {"qwen3"}:
            raise ValueError("markup_leak for families other than qwen3 needs templates_dir")
        return self


def parse_fault_flags(flags: Sequence[str]) -> list[FaultSpec]:
    """``MODE[:RATE]`` strings to specs; modes without a rate share what the others leave.

    ``invalid_json`` alone faults every request; ``a --fault b`` gives 0.5 each;
    ``a:0.2 b`` gives b 0.8.
    """
    explicit: dict[FaultMode, float] = {}
    implicit: list[FaultMode] = []
    for flag in flags:
        name, _, rate_text = flag.partition(":")
        try:
            mode = FaultMode(name.strip())
        except ValueError:
            valid = ", ".join(m.value for m in FaultMode)
            raise ValueError(f"unknown fault mode {name!r} (valid: {valid})") from None
        if mode in explicit or mode in implicit:
            raise ValueError(f"fault mode {mode.value!r} given twice")
        if not rate_text:
            implicit.append(mode)
            continue
        try:
            explicit[mode] = float(rate_text)
        except ValueError:
            raise ValueError(f"fault rate in {flag!r} is not a number") from None
    left = 1.0 - sum(explicit.values())
    if implicit and left <= 0:
        raise ValueError("explicit fault rates leave nothing for the modes given without a rate")
    shares = {m: left / len(implicit) for m in implicit}
    return [FaultSpec(mode=m, rate=r) for m, r in {**explicit, **shares}.items()]


def request_digest(body: Mapping[str, Any], seed: int) -> bytes:
    """A hash of the request's JSON, insensitive to key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{seed}\n{canonical}".encode()).digest()


def choose_leak_family(config: FaultConfig, digest: bytes) -> str:
    """The family a faulted request leaks, drawn from the digest like the fault itself."""
    return config.leak_families[int.from_bytes(digest[8:16], "big") % len(config.leak_families)]


def choose_fault(config: FaultConfig, digest: bytes) -> FaultMode | None:
    """At most one fault, drawn from the digest: a re-sent request meets the same fate.

    The unit interval is cut into consecutive slices, one per mode, of its
    rate's width; the rest of it means no fault.
    """
    draw = int.from_bytes(digest[:8], "big") / 2.0**64
    edge = 0.0
    for spec in config.faults:
        edge += spec.rate
        if draw < edge:
            return spec.mode
    return None

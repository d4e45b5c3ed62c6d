"""The state file: every process the testbed started, written as each one starts.

``down`` reads only this file, so it must be on disk before the process could
outlive a crash of ``up`` -- hence one atomic rewrite per spawned process.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.testbed._errors import TestbedError

STATE_FILE = "state.json"


class RunningVariant(BaseModel):
    """One testbed process: a llama-server or a fault proxy, found again by pid."""

    model_config = ConfigDict(frozen=True)

    variant: str = Field(description="Variant name, also the endpoint name in parity.toml.")
    kind: Literal["llama-server", "fault-proxy"]
    pid: int
    start_ticks: int | None = Field(
        default=None, description="Kernel start time of pid, to detect pid reuse."
    )
    port: int
    base_url: str = Field(description="OpenAI-compatible base URL, ending in /v1.")
    health_url: str
    model: str = Field(description="Model id the endpoint serves.")
    log_path: str
    argv: list[str]
    serves: dict[str, str] = Field(
        default_factory=dict, description="What it really serves: quantization, template, faults."
    )
    started_at: datetime
    startup_s: float | None = Field(default=None, description="Spawn to first healthy answer.")


class TestbedState(BaseModel):
    """Contents of ``<run_dir>/state.json``."""

    __test__ = False  # keeps pytest from collecting a class named Test*

    schema_version: int = 1
    processes: list[RunningVariant] = Field(default_factory=list)

    def find(self, variant: str) -> RunningVariant | None:
        return next((p for p in self.processes if p.variant == variant), None)

    def replace(self, record: RunningVariant) -> TestbedState:
        others = [p for p in self.processes if p.variant != record.variant]
        return TestbedState(processes=[*others, record])

    def without(self, variant: str) -> TestbedState:
        return TestbedState(processes=[p for p in self.processes if p.variant != variant])


def load_state(run_dir: Path) -> TestbedState:
    path = run_dir / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TestbedState()
    try:
        return TestbedState.model_validate_json(text)
    except ValidationError as exc:
        raise TestbedError(
            f"{path} is not a testbed state file ({exc.error_count()} errors); "
            "stop its processes by hand and delete it"
        ) from None


def save_state(run_dir: Path, state: TestbedState) -> None:
    """Write atomically; an empty state removes the file."""
    path = run_dir / STATE_FILE
    if not state.processes:
        path.unlink(missing_ok=True)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)

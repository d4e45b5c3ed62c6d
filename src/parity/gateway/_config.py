"""Gateway configuration: a typed model loaded from TOML at the edge; errors name the field.

Endpoints are declared exactly as in parity.toml (``[[endpoints]]``); model
aliases (``[[models]]``) reference them by name, so one endpoint can serve in
several pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from parity.checks import DRAFTS
from parity.config import EndpointConfig, config_error, read_toml

SCHEMA_VERSION = 1
OPENABLE = ("/healthz", "/metrics", "/v1/models")


class ModelAlias(BaseModel):
    """One model name clients ask for, and the pool of endpoints that serve it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_./-]+$", description="No ':' (reserved for ':verified').")
    endpoints: list[str] = Field(min_length=1, description="Endpoint names, from [[endpoints]].")
    policy: str = Field(default="weighted", description="Routing policy name: weighted, price, latency.")
    weights: dict[str, float] = Field(default_factory=dict, description="Endpoint -> weight (default 1).")
    prices: dict[str, float] = Field(default_factory=dict, description="Endpoint -> price per 1M tokens.")
    validate_tool_calls: StrictBool = Field(default=True, description="Check every tool call in flight.")
    reject_empty: StrictBool = Field(
        default=False, description="An empty answer (no text, no call, finish 'stop') is a failed attempt.")
    repair_tool_calls: StrictBool = Field(default=False, description="Parse a call left as raw text into tool_calls.")
    max_attempts: int = Field(default=3, ge=1, le=10, description="Endpoints tried per request.")
    sticky: StrictBool = True
    required_suites: list[str] = Field(
        default_factory=list, description="Suites that must pass for ':verified' (empty: every suite on record)."
    )

    @field_validator("weights", "prices")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if x < 0]
        if bad:
            raise ValueError(f"must be >= 0 (got a negative value for {', '.join(bad)})")
        return v


class EjectionSettings(BaseModel):
    """When an endpoint leaves its normal range, and how it comes back (see docs/gateway.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(default=200, ge=5, le=100_000, description="Outcomes kept per endpoint.")
    baseline_error_rate: float = Field(default=0.02, gt=0, lt=1)
    baseline_tool_error_rate: float = Field(default=0.05, gt=0, lt=1)
    alpha: float = Field(default=0.001, gt=0, lt=0.5, description="Binomial tail probability that ejects.")
    min_failures: int = Field(default=3, ge=1, description="Never eject on fewer failures than this.")
    probation_s: float = Field(default=30.0, gt=0, description="First ejection's length; doubles on relapse.")
    max_probation_s: float = Field(default=600.0, gt=0)
    probe_successes: int = Field(default=3, ge=1, description="Consecutive good probes to readmit.")
    min_distinct_clients: int = Field(
        default=3, ge=1, description="Failures no endpoint could avoid count only once this many clients saw them.")


class VerifiedBounds(BaseModel):
    """Live bounds for ':verified' on top of the stored verdicts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_error_rate: float = Field(default=0.05, gt=0, le=1)
    max_tool_error_rate: float = Field(default=0.05, gt=0, le=1)
    min_samples: int = Field(default=20, ge=1, description="Below this many outcomes a bound cannot exclude.")


WATCH_STATES = ("healthy", "suspect", "recovering", "changed")


class WatchSettings(BaseModel):
    """``[watch]``: act on the watch's states (docs/gateway.md, "The watch")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool = Field(default=False, description="Read watch states (from --db; Redis when shared).")
    refresh_s: float = Field(default=5.0, gt=0, description="How often the store is read, off the request path.")
    admit: list[str] = Field(default_factory=lambda: ["healthy"],
                             description="Watch states that ':verified' admits; 'changed' never.")
    stale_after_s: float = Field(default=900.0, gt=0, description="No tick for this long: the state is stale "
                                 "(set it to N sentinel periods; default 3 x 5 min).")
    on_stale: str = Field(default="exclude", pattern="^(exclude|keep)$",
                          description="exclude: a stale endpoint leaves ':verified'; keep: its last state decides.")
    suites: StrictBool = Field(default=True, description="A scheduled full suite the watch found 'changed' "
                               "(its run failed) takes the endpoint out of ':verified' too.")

    @field_validator("admit")
    @classmethod
    def _admit(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in WATCH_STATES]
        if bad:
            raise ValueError(f"unknown watch state(s) {', '.join(bad)}; one of {', '.join(WATCH_STATES)}")
        if "changed" in v:
            raise ValueError("'changed' can never be admitted to ':verified'")
        if "healthy" not in v:
            raise ValueError("'healthy' must be admitted")
        return v


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key_hashes: list[str] = Field(
        default_factory=list, description="'sha256:<hex>' of accepted gateway keys; empty: no auth."
    )
    max_request_bytes: int = Field(default=4_000_000, ge=1024)
    max_response_bytes: int = Field(default=16_000_000, ge=1024, description="An upstream answer past this "
                                     "many bytes (streamed or not) is a failed attempt, not buffered whole.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    first_token_timeout_s: float = Field(default=30.0, gt=0, description="Stream: wait for the first token.")
    idle_timeout_s: float = Field(default=60.0, gt=0, description="Stream: longest gap between chunks.")
    max_connections: int = Field(default=1000, ge=1)
    max_retry_after_s: float = Field(default=300.0, gt=0, description="Cap on an upstream's Retry-After.")
    sticky_ttl_s: float = Field(default=900.0, gt=0)
    sticky_prefix_messages: int = Field(default=2, ge=1)
    verdict_refresh_s: float = Field(default=60.0, gt=0)
    shared_sync_s: float = Field(default=1.0, ge=0, description="Redis sync period; 0: every request.")
    redis_prefix: str = Field(default="parity:gw", min_length=1)
    schema_draft: str = "draft7"
    open_paths: list[str] = Field(
        default_factory=lambda: ["/healthz", "/metrics"],
        description="Routes served without a key when keys are configured (/v1/* always need one).")
    # connection limits for `parity gateway serve` (uvicorn); see _serve.py
    timeout_keep_alive_s: int = Field(default=5, ge=1, description="Idle keep-alive connections close (s).")
    request_timeout_s: float = Field(default=30.0, gt=0, description="A request's head and body must "
                                     "arrive within this; slower connections are closed.")
    max_header_bytes: int = Field(default=65_536, ge=1024, description="Largest request head.")
    limit_concurrency: int = Field(default=4096, ge=0, description="Connections + tasks; past it 503 (0: none).")
    max_connections_per_client: int = Field(
        default=256, ge=0, description="Connections from one address waiting for a request (0: no cap).")

    @field_validator("api_key_hashes")
    @classmethod
    def _hashes(cls, v: list[str]) -> list[str]:
        for h in v:
            hexpart = h.removeprefix("sha256:")
            if not h.startswith("sha256:") or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
                raise ValueError("each entry must be 'sha256:' + 64 lowercase hex digits (see parity gateway hash-key)")
        return v

    @field_validator("open_paths")
    @classmethod
    def _open(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if p not in OPENABLE]
        if bad:
            raise ValueError(f"only {', '.join(OPENABLE)} can be served without a key (got {', '.join(bad)})")
        return v

    @field_validator("schema_draft")
    @classmethod
    def _draft(cls, v: str) -> str:
        if v not in DRAFTS:
            raise ValueError(f"unknown JSON Schema draft; one of {', '.join(DRAFTS)}")
        return v


class GatewayConfig(BaseModel):
    """The whole gateway file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    server: ServerSettings = Field(default_factory=ServerSettings)
    endpoints: list[EndpointConfig] = Field(min_length=1)
    models: list[ModelAlias] = Field(min_length=1)
    ejection: EjectionSettings = Field(default_factory=EjectionSettings)
    verified: VerifiedBounds = Field(default_factory=VerifiedBounds)
    watch: WatchSettings = Field(default_factory=WatchSettings)

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique (repeated: {', '.join(dupes)})")
        aliases = [m.alias for m in self.models]
        if len(set(aliases)) != len(aliases):
            raise ValueError("model aliases must be unique")
        from ._policy import POLICIES  # late: policies may be registered after import

        for i, m in enumerate(self.models):
            where = f"models[{i}] (alias {m.alias!r})"
            unknown = [n for n in m.endpoints if n not in names]
            unknown += [n for n in (*m.weights, *m.prices) if n not in m.endpoints]
            if unknown:
                raise ValueError(f"{where}: unknown endpoint(s) {', '.join(sorted(set(unknown)))}")
            if m.policy not in POLICIES:
                raise ValueError(f"{where}.policy: unknown policy {m.policy!r}; one of {', '.join(POLICIES)}")
        return self

    def endpoint(self, name: str) -> EndpointConfig:
        return next(e for e in self.endpoints if e.name == name)

    def alias(self, name: str) -> ModelAlias | None:
        return next((m for m in self.models if m.alias == name), None)


def parse_gateway_config(raw: Mapping[str, Any], source: str = "<gateway config>") -> GatewayConfig:
    try:
        return GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, raw, source, "gateway configuration") from None


def load_gateway_config(path: str | Path) -> GatewayConfig:
    return parse_gateway_config(read_toml(path), source=str(Path(path)))

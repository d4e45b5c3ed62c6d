"""The ``[watch]`` section of ``parity.toml``: schedules, budgets, detector, alerts.

Read from the same file as the endpoints (``parity.config``), validated
strictly here. Durations carry their unit in the field name.

```toml
[watch]
arl_days = 30            # expected time to a false alarm, per endpoint
jitter = 0.2             # ticks move by up to ±10% of the period

[watch.sentinel]
period_minutes = 5
requests_per_day = 20000
tokens_per_day = 2000000
controls = 1             # reference controls per candidate request; K > 1: rank e-values (opt-in)
logprobs_reprobe_ticks = 288  # after logprobs went missing: ask for them again every N ticks (0: never)

[watch.suites]           # full suites, hours between runs (per candidate; 0: off)
toolcall = 24
conformance = { period_hours = 168, limit = 10 }

[watch.engine]           # scale-out (parity watch worker / scheduler); unused by one process
broker_url_env = "PARITY_WATCH_BROKER"

[watch.endpoints.q8]     # per-endpoint overrides of the sentinel
period_minutes = 2

[watch.endpoints.router] # no logprobs: greedy odd-one-out rounds (blackbox = "greedy", the default)
logprobs = false
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parity.config import ConfigError, ParityConfig, config_error, parse_config, read_toml

from ._detect import Levels

__all__ = ["AlertPolicy", "EndpointOverride", "EndpointWatch", "EngineConfig", "SuiteSchedule", "WatchConfig",
           "load_watch", "parse_watch"]

_STRICT = ConfigDict(extra="forbid", frozen=True)
MAX_CONTROLS = 32  # the reference answers up to 33 times per candidate request


class EndpointWatch(BaseModel):
    """The sentinel's schedule and budget for one endpoint (defaults in ``[watch.sentinel]``)."""

    model_config = _STRICT

    period_minutes: float = Field(default=5.0, gt=0, le=24 * 60)
    requests_per_day: int = Field(default=20_000, ge=0, description="Enforced per UTC day.")
    tokens_per_day: int = Field(default=2_000_000, ge=0, description="Prompt + completion, per UTC day.")
    prompts: int = Field(default=4, ge=1, le=32, description="Logprob/sample prompts per tick.")
    canary: bool = Field(default=True, description="One tool-call canary per tick.")
    logprobs: bool = Field(default=True, description="The endpoint reports logprobs; false: its sentinel is "
                           "black-box (`blackbox`).")
    blackbox: Literal["greedy", "hamming"] = Field(
        default="greedy", description="The black-box sentinel: greedy odd-one-out rounds (temperature 0, "
                                      "32 tokens), or sampled answers compared by Hamming distance.")
    controls: int = Field(
        default=1, ge=1, le=MAX_CONTROLS,
        description="Reference controls per candidate request (a candidate's setting). 1: the paired "
                    "observation g; K > 1: the reference answers K + 1 times per candidate request and "
                    "each request gives a rank e-value (docs/watch.md, 'K controls').")
    logprobs_reprobe_ticks: int = Field(
        default=288, ge=0, le=1_000_000,
        description="An endpoint switched to the black-box sentinel because its logprobs went missing "
                    "asks one prompt with logprobs every this many ticks (0: never); back on the logprob "
                    "sentinel when they are reported again. 288: a day at 5-minute ticks.")

    @property
    def sentinel_blackbox(self) -> str:
        """The SentinelDesign's black-box mode: `blackbox` without logprobs; else the sampled fallback."""
        return "hamming" if self.logprobs else self.blackbox


class EndpointOverride(BaseModel):
    """``[watch.endpoints.NAME]``: any of :class:`EndpointWatch`'s fields."""

    model_config = _STRICT

    period_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    requests_per_day: int | None = Field(default=None, ge=0)
    tokens_per_day: int | None = Field(default=None, ge=0)
    prompts: int | None = Field(default=None, ge=1, le=32)
    canary: bool | None = None
    logprobs: bool | None = None
    blackbox: Literal["greedy", "hamming"] | None = None
    controls: int | None = Field(default=None, ge=1, le=MAX_CONTROLS)
    logprobs_reprobe_ticks: int | None = Field(default=None, ge=0, le=1_000_000)


class SuiteSchedule(BaseModel):
    """``[watch.suites.NAME]`` as a table: the period and the suite's size."""

    model_config = _STRICT

    period_hours: float = Field(ge=0, description="Hours between runs; 0 turns the suite off.")
    limit: int | None = Field(default=None, ge=1, description="Cases per run (the suite's --limit).")


class EngineConfig(BaseModel):
    """``[watch.engine]``: the task engine the scheduler and workers share (Dramatiq)."""

    model_config = _STRICT

    broker_url_env: str = Field(default="PARITY_WATCH_BROKER",
                                description="Environment variable holding the broker URL "
                                            "(redis://... or amqp://...); it may hold a password.")
    queue: str = Field(default="parity-watch", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    worker_threads: int = Field(default=4, ge=1, le=256, description="Jobs at once per worker process.")
    heartbeat_timeout_s: float = Field(default=60.0, gt=0,
                                       description="Redis: after this, a dead worker's jobs are requeued.")
    maintenance_chance: int = Field(default=20, ge=1, description="Redis: 1 in N fetches looks for dead "
                                    "workers' jobs (Dramatiq's default 1000 suits busy queues, not a watch's).")
    job_time_limit_s: float = Field(default=6 * 3600.0, gt=0, description="A job running longer is stopped.")
    poll_s: float = Field(default=1.0, gt=0, description="How often the scheduler looks for due ticks.")


class AlertPolicy(BaseModel):
    """Webhook delivery: exponential backoff ``min(max, base · 2^(n-1))`` between attempts."""

    model_config = _STRICT

    webhook_url_env: str | None = Field(
        default="PARITY_WATCH_WEBHOOK",
        description="Environment variable holding the webhook URL; unset: alerts are only logged.")
    max_attempts: int = Field(default=8, ge=1, le=100)
    base_delay_s: float = Field(default=1.0, gt=0)
    max_delay_s: float = Field(default=300.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)
    resend_unconfirmed: bool = Field(
        default=False, description="After a crash during a POST, send that alert again (at least once, "
                                   "relying on Idempotency-Key) instead of never twice.")

    def delay(self, attempt: int) -> float:
        """Wait after failed attempt ``attempt`` (1-based)."""
        return float(min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1)))


class WatchConfig(BaseModel):
    model_config = _STRICT

    schema_version: int = 1
    seed: int = Field(default=0, description="Keys the jitter and the sentinel's sampling seeds.")
    arl_days: float = Field(default=30.0, gt=0, description="Expected time to a false alarm.")
    warn_arl_days: float = Field(default=1.0, gt=0, description="Same, for the suspect level.")
    recovery_minutes: float = Field(default=60.0, gt=0,
                                    description="Quiet time for changed→recovering→healthy, each.")
    window_hours: float = Field(default=24.0, gt=0, description="Oldest e-process kept.")
    reference_lag_hours: float = Field(default=24.0, gt=0,
                                       description="The reference is compared with itself this long ago.")
    jitter: float = Field(default=0.2, ge=0, lt=1, description="Share of the period ticks move by.")
    sentinel: EndpointWatch = Field(default_factory=EndpointWatch)
    endpoints: dict[str, EndpointOverride] = Field(default_factory=dict,
                                                 description="Per-endpoint overrides of `sentinel`.")
    suites: dict[str, float | SuiteSchedule] = Field(default_factory=dict,
                                                     description="Suite name -> hours between runs.")
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @model_validator(mode="after")
    def _check(self) -> WatchConfig:
        if self.warn_arl_days > self.arl_days:
            raise ValueError("warn_arl_days must not exceed arl_days")
        if any(s.period_hours < 0 for s in self.suite_schedules().values()):
            raise ValueError("suite periods must be >= 0 hours")
        return self

    def suite_schedules(self) -> dict[str, SuiteSchedule]:
        """Every ``[watch.suites]`` entry as a table (a bare number is its period in hours)."""
        return {name: v if isinstance(v, SuiteSchedule) else SuiteSchedule(period_hours=v)
                for name, v in self.suites.items()}

    def for_endpoint(self, name: str) -> EndpointWatch:
        override = self.endpoints.get(name)
        if override is None:
            return self.sentinel
        return self.sentinel.model_copy(update=override.model_dump(exclude_none=True))

    def levels(self, name: str) -> Levels:
        period_s = self.for_endpoint(name).period_minutes * 60.0
        return Levels.from_times(period_s=period_s, arl_s=self.arl_days * 86400.0,
                                 warn_arl_s=self.warn_arl_days * 86400.0,
                                 recovery_s=self.recovery_minutes * 60.0,
                                 window_s=self.window_hours * 3600.0)


def parse_watch(raw: Mapping[str, Any], endpoints: ParityConfig, source: str = "<config>") -> WatchConfig:
    """Validate the decoded ``[watch]`` table; overrides must name configured endpoints."""
    try:
        watch = WatchConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, raw, source, "[watch] section", within="watch") from None
    from parity.suites import suite_names

    bad = sorted(set(watch.suites) - set(suite_names()))
    if bad:
        raise ConfigError(f"{source}: [watch.suites] names unknown suites: {', '.join(bad)} "
                          f"(known: {', '.join(suite_names())})")
    names = {e.name for e in endpoints.endpoints}
    unknown = sorted(set(watch.endpoints) - names)
    if unknown:
        raise ConfigError(f"{source}: [watch.endpoints] names unknown endpoints: {', '.join(unknown)}")
    return watch


def load_watch(path: str | Path) -> tuple[ParityConfig, WatchConfig]:
    """The endpoints and the ``[watch]`` section of one ``parity.toml``."""
    p = Path(path)
    raw = read_toml(p)
    section = raw.pop("watch", None)
    if section is None:
        raise ConfigError(f"{p}: no [watch] section (see docs/watch.md)")
    if not isinstance(section, dict):
        raise ConfigError(f"{p}: [watch] must be a table")
    config = parse_config(raw, source=str(p))
    return config, parse_watch(section, config, source=str(p))

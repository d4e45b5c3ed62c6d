"""Endpoint and run configuration: typed, validated, loaded from TOML at the edge.

Secrets never live here: an endpoint names the *environment variable* that
holds its key, and the key is resolved only when a client is built.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from parity.families import FAMILIES, family


class ConfigError(ValueError):
    """A configuration problem, phrased so that the user can find and fix it."""


class Declared(BaseModel):
    """What the provider says it serves: compared against what parity measures."""

    model_config = ConfigDict(extra="allow")

    engine: str | None = None
    quantization: str | None = None
    context_length: int | None = Field(default=None, gt=0)
    family: str | None = Field(default=None, description="Chat-format family (parity.families), e.g. 'qwen3'.")

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str | None) -> str | None:
        # A typo must not silently turn the declared family off (detection would still run, but the
        # declared parser would never be tried first): name the families that exist.
        if value is not None and family(value) is None:
            names = ", ".join(f.name for f in FAMILIES)
            aliases = ", ".join(a for f in FAMILIES for a in f.aliases)
            raise ValueError(f"unknown family {value!r}; known families: {names} (aliases: {aliases})")
        return value


class Price(BaseModel):
    """What the provider charges, in USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per million prompt tokens.")
    output: float = Field(ge=0, description="USD per million completion tokens.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


class EndpointConfig(BaseModel):
    """One deployment of one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    reference: StrictBool = False  # "yes" is not true: a typo must not pick the reference
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    max_concurrency: int = Field(default=8, ge=1, le=1024)
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    # TLS: certifi's roots by default; ca_bundle (a PEM file) for a private CA; verify=false
    # checks nothing (a test server only). See docs/architecture.md, "TLS".
    verify: bool = True
    ca_bundle: str | None = None
    declared: Declared = Field(default_factory=Declared)
    price: Price | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    def api_key(self, environ: Mapping[str, str]) -> str | None:
        """The key from the environment; a missing variable is a clear error."""
        if self.api_key_env is None:
            return None
        key = environ.get(self.api_key_env)
        if not key:
            raise ConfigError(
                f"endpoint {self.name!r}: api_key_env names {self.api_key_env!r}, "
                "which is not set in the environment"
            )
        return key

    def public_dict(self) -> dict[str, Any]:
        """The configuration as recorded in the store and reports: no secret values.

        Header values are masked because providers put keys there too; only
        the variable *name* of the API key is kept.
        """
        data = self.model_dump(mode="json")
        data["headers"] = {k: "<redacted>" for k in self.headers}
        return data


class RunSettings(BaseModel):
    """Run-wide settings from the optional ``[run]`` table."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(default=0.05, gt=0, lt=1)
    seed: int = 0
    repeats: int = Field(default=1, ge=1, le=100)
    reference_repeats: int = Field(default=2, ge=2, le=100)
    margin: float = Field(
        default=0.10,
        gt=0,
        lt=1,
        description="Largest excess rate (candidate minus reference) still judged equivalent.",
    )


class ParityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoints: list[EndpointConfig]
    run: RunSettings = Field(default_factory=RunSettings)
    watch: dict[str, Any] | None = Field(default=None, description="[watch]: validated by parity.watch.")

    @property
    def reference(self) -> EndpointConfig:
        return next(e for e in self.endpoints if e.reference)

    @property
    def candidates(self) -> list[EndpointConfig]:
        return [e for e in self.endpoints if not e.reference]

    def endpoint(self, name: str) -> EndpointConfig:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise ConfigError(f"no endpoint named {name!r} (have: {', '.join(e.name for e in self.endpoints)})")

    def public_dict(self) -> dict[str, Any]:
        return {
            "endpoints": [e.public_dict() for e in self.endpoints],
            "run": self.run.model_dump(mode="json"),
        }


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'endpoints[2] (name 'q8').timeout_s' from a pydantic error location: a list item that is a
    table with a ``name`` (or ``alias``) is labelled with it."""
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and 0 <= step < len(node) else None
            label = f"[{step}]"
            if isinstance(node, Mapping):
                key = "name" if "name" in node else "alias" if "alias" in node else None
                label += f" ({key} {node[key]!r})" if key else ""
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(step))
            node = node.get(step) if isinstance(node, Mapping) else None
    return "".join(parts)


def config_error(exc: ValidationError, raw: Mapping[str, Any], source: str, what: str,
                 within: str = "") -> ConfigError:
    """The one shape of an invalid-configuration message, whichever file or section: a headline
    naming the file and ``what`` was invalid, then a line per error naming its place
    (``within`` prefixes a section's places, e.g. ``watch``)."""
    lines = []
    for err in exc.errors():
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        loc = ((within,) if within else ()) + tuple(err["loc"])
        if not err["loc"]:  # a check across fields: its message names the place itself
            lines.append(f"  {msg}")
        else:
            lines.append(f"  {_where({within: raw} if within else raw, loc)}: {msg}")
    return ConfigError(f"{source}: invalid {what}\n" + "\n".join(lines))


def parse_config(raw: Mapping[str, Any], source: str = "<config>") -> ParityConfig:
    """Validate a decoded TOML document; errors name the field and the endpoint."""
    try:
        config = ParityConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, raw, source, "configuration") from None
    refs = [e.name for e in config.endpoints if e.reference]
    if len(refs) != 1:
        found = ", ".join(refs) if refs else "none"
        raise ConfigError(
            f"{source}: exactly one endpoint must have reference = true (found: {found})"
        )
    names = [e.name for e in config.endpoints]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: endpoint names must be unique (repeated: {', '.join(dupes)})")
    return config


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A configuration file as a table; a missing file or bad TOML is a ConfigError naming it."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def load_config(path: str | os.PathLike[str]) -> ParityConfig:
    return parse_config(read_toml(path), source=str(Path(path)))

"""What a Suite is, and the registry that finds one by name."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from parity.case import Case
from parity.config import EndpointConfig, RunSettings
from parity.exchange import Exchange
from parity.verdict import Verdict


class Role(enum.StrEnum):
    REFERENCE = "reference"
    CANDIDATE = "candidate"


class Sender(Protocol):
    """How a suite sends requests: stored exchanges are returned, never re-sent."""

    endpoint: EndpointConfig

    async def send(self, case: Case, repeat: int = 0) -> Exchange: ...

    async def send_all(self, items: Iterable[tuple[Case, int]]) -> list[Exchange]: ...

    async def reference(self) -> list[Exchange]:
        """This suite's reference exchanges, once the reference's collect() has finished.

        For adaptive candidates (the equality suite stops when decided); only a
        candidate's collect may await it -- the reference's own would never return.
        """
        ...

    def to_reference(self) -> Sender:
        """A sender to the reference, for answers a candidate needs drawn on demand.

        Stored under the reference's name, shared by every candidate of the run:
        a request asked by several candidates is sent once.
        """
        ...


@dataclass
class EvalContext:
    """Everything ``Suite.evaluate`` needs, already loaded: evaluation is pure."""

    reference: str
    endpoints: list[EndpointConfig]
    exchanges: dict[str, list[Exchange]]  # endpoint name -> this suite's exchanges
    settings: RunSettings
    extra: dict[str, Any] = field(default_factory=dict)


class Suite(Protocol):
    name: str

    def dataset_hash(self) -> str:
        """Identifies the cases (and their expectations) this suite sends."""
        ...

    def planned(self, role: Role, settings: RunSettings) -> int | None:
        """How many requests collect() will make, for progress; None if adaptive."""
        ...

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        """Send this suite's requests to one endpoint through ``sender``."""
        ...

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        """Pure: a Verdict per endpoint (the reference's row carries its metrics)."""
        ...


@runtime_checkable
class SizedByEndpoint(Protocol):
    """A suite whose request count depends on the endpoint (the speed suite: its declared context)."""

    def planned_for(self, role: Role, settings: RunSettings, endpoint: EndpointConfig) -> int | None:
        """How many requests collect() will make to this endpoint; None if adaptive."""
        ...


def planned_requests(suite: Suite, role: Role, settings: RunSettings,
                     endpoint: EndpointConfig) -> int | None:
    """What ``suite`` plans to send to ``endpoint``: progress and budgets count this."""
    if isinstance(suite, SizedByEndpoint):
        return suite.planned_for(role, settings, endpoint)
    return suite.planned(role, settings)


SuiteFactory = Callable[..., Suite]
_REGISTRY: dict[str, SuiteFactory] = {}


def register(name: str) -> Callable[[SuiteFactory], SuiteFactory]:
    def deco(factory: SuiteFactory) -> SuiteFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def suite_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_suite(name: str, **options: Any) -> Suite:
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown suite {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None
    return factory(**options)


def _load_builtin() -> None:
    # Importing a suite module registers it; done lazily so that importing
    # parity.suites stays cheap and free of optional dependencies.
    import importlib

    for module in ("parity.suites.toolcall.suite", "parity.suites.conformance.suite",
                   "parity.suites.equality.suite", "parity.suites.accuracy.suite",
                   "parity.suites.speed.suite"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise

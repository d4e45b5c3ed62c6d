"""Which endpoints may serve a request, and in which order.

Admissibility (ignore list, ejection, Retry-After, verdicts and live bounds
for ':verified') is decided here; the order among the admissible is the
alias's routing policy's, with a sticky binding first.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from parity.stats import wilson

from ._config import GatewayConfig, ModelAlias
from ._ejection import Ejector
from ._policy import Candidate, get_policy
from ._telemetry import EndpointStats, Window
from ._upstream import Upstream
from ._verdicts import VerdictBook

EXCLUDED_HEADER = "x-parity-excluded"  # on served answers: the endpoints left out, and why
_HEADER_ENDPOINTS = 16


@dataclass
class Plan:
    order: list[Upstream]
    excluded: dict[str, str] = field(default_factory=dict)  # endpoint -> why not
    retry_after_s: float | None = None  # earliest end of a Retry-After that excluded someone

    def excluded_header(self) -> str | None:
        """``{"endpoint": "why not", …}`` as ASCII JSON, or None when nobody was left out.
        Bounded: the first 16 endpoints, reasons cut at 200 characters (the 503 body has all)."""
        if not self.excluded:
            return None
        items = list(self.excluded.items())
        shown = {n: why[:200] for n, why in items[:_HEADER_ENDPOINTS]}
        if len(items) > _HEADER_ENDPOINTS:
            shown["..."] = f"{len(items) - _HEADER_ENDPOINTS} more"
        out = orjson.dumps(shown).decode()
        return out if out.isascii() else json.dumps(shown, separators=(",", ":"))  # a header is ASCII


class Router:
    def __init__(
        self, config: GatewayConfig, upstreams: Mapping[str, Upstream], stats: Mapping[str, EndpointStats],
        ejector: Ejector, verdicts: VerdictBook, clock: Callable[[], float], rng: random.Random,
    ) -> None:
        self._config = config
        self._up = upstreams
        self._stats = stats
        self._ejector = ejector
        self._verdicts = verdicts
        self._clock = clock
        self._rng = rng
        self._cooldown: dict[str, float] = {}  # endpoint -> clock time its Retry-After ends

    def cool_down(self, endpoint: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._cooldown[endpoint] = max(until, self._cooldown.get(endpoint, 0.0))

    def _live_bound(self, name: str, window: Window, bound: float) -> str | None:
        b = self._config.verified
        if window.n < b.min_samples:
            return None
        est = wilson(window.k, window.n)
        if est.low is not None and est.low > bound:
            return f"live {name} {window.k}/{window.n} above bound {bound:g} (95% lower limit {est.low:.3f})"
        return None

    def _why_not(self, name: str, alias: ModelAlias, verified: bool, ignore: frozenset[str]) -> str | None:
        if name in ignore:
            return "ignored by the client (x-parity-ignore)"
        reason = self._ejector.reason(name)
        if reason is not None:
            return reason
        until = self._cooldown.get(name)
        if until is not None:
            left = until - self._clock()
            if left > 0:
                return f"rate limited: Retry-After, {left:.1f}s left"
            del self._cooldown[name]
        if verified:
            s = self._stats[name]
            return (self._verdicts.verified(name, alias.required_suites)
                    or self._live_bound("error rate", s.errors, self._config.verified.max_error_rate)
                    or self._live_bound("tool-call error rate", s.tool_errors,
                                        self._config.verified.max_tool_error_rate))
        return None

    def _price(self, alias: ModelAlias, name: str) -> float | None:
        """The alias's price for the endpoint, else the endpoint's configured price blended 3:1.

        ``price = {input, output}`` of ``[[endpoints]]`` (USD per million tokens) becomes
        ``(3·input + output) / 4``, the usual blend for chat traffic (three prompt tokens
        to one completion token); an alias's ``prices`` entry overrides it.
        """
        if name in alias.prices:
            return alias.prices[name]
        up = self._up.get(name)
        price = up.cfg.price if up is not None else None
        return None if price is None else (3.0 * price.input + price.output) / 4.0

    def plan(self, alias: ModelAlias, verified: bool, ignore: frozenset[str], sticky: str | None) -> Plan:
        pool: list[Candidate] = []
        excluded: dict[str, str] = {}
        for name in alias.endpoints:
            why = self._why_not(name, alias, verified, ignore)
            if why is not None:
                excluded[name] = why
                continue
            live = self._stats[name].latency_ewma
            pool.append(Candidate(name, alias.weights.get(name, 1.0), self._price(alias, name),
                                  live if live is not None else self._verdicts.measured_latency(name)))
        ordered = get_policy(alias.policy).order(pool, self._rng) if len(pool) > 1 else pool
        names = [c.name for c in ordered]
        if sticky is not None and sticky in names:
            names.remove(sticky)
            names.insert(0, sticky)
        waits = [self._cooldown[n] - self._clock() for n in excluded if n in self._cooldown]
        return Plan([self._up[n] for n in names[: alias.max_attempts]], excluded,
                    min(waits) if waits else None)

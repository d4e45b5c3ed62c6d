"""Routing policies: small objects looked up by name, each ordering a pool of candidates.

A policy only orders; which endpoints are admissible at all (verdicts,
ejection, ignore lists, Retry-After) is decided before it runs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a policy may look at for one admissible endpoint."""

    name: str
    weight: float = 1.0
    price: float | None = None
    latency_s: float | None = None  # smoothed recent latency; None before any data


class RoutingPolicy(Protocol):
    def order(self, pool: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
        """Candidates in the order they should be tried (first choice first)."""
        ...


def _weighted_shuffle(pool: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
    # Efraimidis-Spirakis: key u^(1/w) gives a weighted random permutation in one sort;
    # zero weights go last (kept as fallbacks, never first choice).
    def key(c: Candidate) -> float:
        return rng.random() ** (1.0 / c.weight) if c.weight > 0 else -1.0

    return sorted(pool, key=key, reverse=True)


class Weighted:
    """Traffic split by configured weights; fallbacks in weighted-random order too."""

    def order(self, pool: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
        return _weighted_shuffle(pool, rng)


class Cheapest:
    """Lowest price first; endpoints without a price after priced ones; ties split by weight."""

    def order(self, pool: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
        shuffled = _weighted_shuffle(pool, rng)  # stable sort keeps the weighted tie-break
        return sorted(shuffled, key=lambda c: (c.price is None, c.price or 0.0))


class Fastest:
    """Lowest smoothed latency first; endpoints not yet measured first, so they get measured."""

    def order(self, pool: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
        shuffled = _weighted_shuffle(pool, rng)
        return sorted(shuffled, key=lambda c: -1.0 if c.latency_s is None else c.latency_s)


POLICIES: dict[str, RoutingPolicy] = {"weighted": Weighted(), "price": Cheapest(), "latency": Fastest()}


def register_policy(name: str, policy: RoutingPolicy) -> None:
    """Make a policy available to configs as ``policy = "<name>"``."""
    POLICIES[name] = policy


def get_policy(name: str) -> RoutingPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise KeyError(f"unknown routing policy {name!r}; one of {', '.join(POLICIES)}") from None

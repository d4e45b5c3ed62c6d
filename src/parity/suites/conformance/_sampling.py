"""Sampling parameters honoured, not ignored or overridden by the server (row 13).

Servers often fix a default seed (llama.cpp's ``--seed``), which makes
repeats of one body identical whatever the temperature. So instead of
repeating a body, these probes vary the *seed*: at temperature 0 (or a tiny
top_p) the seed must not matter; at a high temperature it must.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from parity.case import Case
from parity.checks.conformance import call_signature
from parity.exchange import Exchange

from ._data import REPETITIVE
from ._probe import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Assessment,
    Probe,
    Steps,
    answer,
    completion,
    excerpt,
    must,
    user,
)

POEM = "Write a four-line poem about the moon."
PLANET = "Invent a name for a new planet and describe it in one sentence."


def said(x: Exchange) -> tuple[str, list[tuple[str, str]]]:
    """What an answer says: its content and its calls."""
    c = completion(x)
    return (c.content or "").strip(), call_signature(c.tool_calls)


class _SeedVariants(Probe):
    """One body sent with several seeds; subclasses say whether the answers must agree."""

    rows = (13,)
    prompt: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}
    seeds: ClassVar[tuple[int, ...]] = ()
    agree: ClassVar[bool] = True

    # Sent only when answers that must agree do not: engines whose arithmetic
    # depends on batching or on the prompt cache flip a near-tie now and then,
    # which moves some answers; ignored sampling moves nearly all of them. Pass:
    # a majority identical; fail: all distinct but at most one pair.
    extra_seeds: ClassVar[tuple[int, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.max_follow_ups = len(cls.extra_seeds)

    def _case(self, seed: int) -> Case:
        return self.case(f"seed{seed}", {"messages": [user(self.prompt)], **self.params,
                                         "seed": seed, "max_tokens": 40})

    def cases(self) -> list[Case]:
        return [self._case(s) for s in self.seeds]

    def answers(self, steps: Steps, seeds: tuple[int, ...] | None = None) -> list[Exchange] | Assessment:
        out: list[Exchange] = []
        for s in self.seeds if seeds is None else seeds:
            x = answer(steps, f"{self.name}/seed{s}")
            if isinstance(x, Assessment):
                return x
            out.append(x)
        return out

    def follow_ups(self, first: Steps) -> list[Case]:
        xs = self.answers(first)
        if not self.agree or isinstance(xs, Assessment) or len({repr(said(x)) for x in xs}) == 1:
            return []
        return [self._case(s) for s in self.extra_seeds]

    def _disagree(self, steps: Steps, first: list[Exchange]) -> Assessment:
        """Answers that must agree did not: decide on the extra seeds' answers too."""
        xs = must(self.answers(steps, self.seeds + self.extra_seeds)) if self.extra_seeds else first
        counts = Counter(repr(said(x)) for x in xs)
        n, modal, distinct = len(xs), max(counts.values()), len(counts)
        summary = f"{distinct} distinct answer(s) from {n} seeds at {self.params}"
        evidence = [excerpt(x) for x in xs]
        if self.extra_seeds and 2 * modal > n:
            return Assessment(PASS, f"{summary}: {modal} of {n} identical; the others are "
                              "near-ties flipped by non-reproducible arithmetic (batching, prompt "
                              "cache), not ignored sampling, which makes nearly every answer differ",
                              evidence)
        if not self.extra_seeds or distinct >= n - 1:
            return Assessment(FAIL, summary + ": the sampling parameters were not honoured", evidence)
        return Assessment(INCONCLUSIVE, f"{summary}: too mixed to tell ignored sampling from "
                          "non-reproducible decoding", evidence)

    def assess(self, steps: Steps) -> Assessment:
        xs = must(self.answers(steps))
        distinct = len({repr(said(x)) for x in xs})
        summary = f"{distinct} distinct answer(s) from {len(xs)} seeds at {self.params}"
        if self.agree and distinct > 1:
            return self._disagree(steps, xs)
        if not self.agree and distinct == 1:
            return Assessment(FAIL, summary + ": temperature (or the seed) ignored",
                              [excerpt(x) for x in xs])
        return Assessment(PASS, summary)


class TemperatureZero(_SeedVariants):
    name = "sampling.temperature_zero"
    description = "temperature 0 gives the same answer whatever the seed (3 seeds)"
    prompt = POEM
    params: ClassVar[dict[str, Any]] = {"temperature": 0}
    seeds = (11, 22, 33)
    extra_seeds = (44, 55)


class TemperatureHigh(_SeedVariants):
    name = "sampling.temperature_high"
    description = "temperature 1.3 gives different answers under different seeds"
    prompt = PLANET
    params: ClassVar[dict[str, Any]] = {"temperature": 1.3}
    seeds = (101, 202)
    agree = False


class TopP(_SeedVariants):
    name = "sampling.top_p"
    description = "top_p 0.01 at temperature 1.3 keeps only the top token: seeds do not matter"
    prompt = POEM
    params: ClassVar[dict[str, Any]] = {"temperature": 1.3, "top_p": 0.01}
    seeds = (5, 6)
    extra_seeds = (7, 8, 9)


class SeedReproduces(_SeedVariants):
    name = "sampling.seed"
    description = "at temperature 1.0 one seed reproduces its answer and another seed changes it"
    prompt = PLANET
    params: ClassVar[dict[str, Any]] = {"temperature": 1.0}
    seeds = (1234, 4321)

    def sends(self) -> list[tuple[Case, int]]:
        first = self.cases()[0]
        return [*super().sends(), (first, 1)]  # the first seed twice

    def assess(self, steps: Steps) -> Assessment:
        xs = must(self.answers(steps))
        again = must(answer(steps, f"{self.name}/seed{self.seeds[0]}", repeat=1))
        same, other = said(again) == said(xs[0]), said(xs[1]) != said(xs[0])
        if same and other:
            return Assessment(PASS, "the seed reproduced its answer; another seed changed it")
        why = [] if same else ["the same seed gave a different answer"]
        why += [] if other else ["another seed gave the same answer (seed or temperature ignored)"]
        return Assessment(FAIL, "; ".join(why), [excerpt(x) for x in (*xs, again)])


class Penalties(Probe):
    name = "sampling.penalties"
    rows = (13,)
    description = ("presence/frequency penalties change a repetitive answer at temperature 0 "
                   "(penalties off vs on)")

    def cases(self) -> list[Case]:
        base = {"messages": [user(REPETITIVE)], "temperature": 0, "max_tokens": 40}
        return [self.case("off", base),
                self.case("on", {**base, "frequency_penalty": 1.5, "presence_penalty": 1.5})]

    def assess(self, steps: Steps) -> Assessment:
        off = must(answer(steps, f"{self.name}/off"))
        on = must(answer(steps, f"{self.name}/on"))
        if said(off) == said(on):
            return Assessment(FAIL, "penalties made no difference to a repetitive answer",
                              [excerpt(off), excerpt(on)])
        return Assessment(PASS, "penalties changed the answer")


PROBES: tuple[type[Probe], ...] = (TemperatureZero, TemperatureHigh, TopP, SeedReproduces, Penalties)

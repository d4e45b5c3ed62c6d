"""What the accuracy suite sends: items in a seeded order, each answered ``k`` times.

Request ``(item, r)`` of a stream carries a seed that is a fixed function of
(run seed, stream, item, r): a resumed run re-sends identical bodies, and the
reference's and each candidate's repeats are independent draws.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from parity.case import Case, canonical_json
from parity.suites.equality import sample_seed

from ._tasks import Task

REFERENCE_STREAM = "reference"


@dataclass(frozen=True)
class Sampling:
    """Sampling settings of every request; stated in the report (a task may cap max_tokens).

    Greedy by default: what benchmark harnesses use for a model without a reasoning
    mode (lm-evaluation-harness's generative tasks such as GSM8K, HELM). Sample
    (``temperature > 0``, with repeats) for a model whose card asks for it, as
    reasoning models' benchmarks (AIME ×32) do.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def default_repeats(self) -> int:
        """Greedy answers of a deterministic engine repeat themselves: 1; sampled: 8."""
        return 1 if self.greedy else 8

    def body(self, task: Task, seed: int) -> dict[str, Any]:
        return {"messages": task.messages(), "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": task.max_tokens or self.max_tokens, "seed": seed}

    def describe(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}


def item_order(tasks: list[Task], run_seed: int) -> list[Task]:
    """Tasks in a random order fixed by the run seed, before any answer is seen."""
    def key(t: Task) -> bytes:
        return hashlib.sha256(f"{run_seed}:{t.id}".encode()).digest()

    return sorted(tasks, key=key)


@dataclass(frozen=True)
class Plan:
    """Items in order and repeats per item; batch ``b`` is items ``b·batch .. (b+1)·batch``."""

    items: tuple[Task, ...]
    k: int
    batch: int

    def looks(self) -> list[int]:
        n = len(self.items)
        return [*range(self.batch, n, self.batch), n]

    def cases(self, sampling: Sampling, run_seed: int, stream: str, start: int, stop: int) -> list[Case]:
        return [
            Case(id=f"{task.id}#{r}", body=sampling.body(task, sample_seed(run_seed, stream, task.id, r)),
                 expected={"item": task.id, "repeat": r})
            for task in self.items[start:stop] for r in range(self.k)
        ]

    def dataset_hash(self, sampling: Sampling) -> str:
        what = {"tasks": [t.model_dump() for t in sorted(self.items, key=lambda t: t.id)],
                "k": self.k, "batch": self.batch, "sampling": sampling.describe()}
        return hashlib.sha256(canonical_json(what)).hexdigest()[:32]

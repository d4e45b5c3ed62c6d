"""What the equality suite sends: the sampling settings, the plan, the per-request seeds.

Every request is a fixed function of (run seed, stream, prompt, sample index):
a resumed run re-sends byte-identical bodies, and the reference and each
candidate draw *independent* samples because their streams differ (a server
started with a fixed ``--seed`` answers identical requests identically, so
the seed must vary per sample and per endpoint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from parity.case import Case, canonical_json

from ._prompts import PROMPTS

REFERENCE_STREAM = "reference"
# llama.cpp reads these (vLLM too, but for the penalty's name): the sampler draws
# from the model's own distribution, at a fixed length, and the probabilities
# reported are those it sampled from (after temperature, top_p...), so that a
# server overriding the sampling settings shows it in the first-token test.
LLAMA_CPP_PARAMS: dict[str, Any] = {"ignore_eos": True, "top_k": 0, "min_p": 0.0,
                                    "repeat_penalty": 1.0, "post_sampling_probs": True}


@dataclass(frozen=True)
class Sampling:
    """The sampling settings every request of a run carries; stated in the report."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    top_logprobs: int = 10
    extra: dict[str, Any] = field(default_factory=lambda: dict(LLAMA_CPP_PARAMS))
    logprobs: bool = True  # False: ask for none (the greedy black-box requests need none)

    def body(self, prompt: str, seed: int) -> dict[str, Any]:
        asks = {"logprobs": True, "top_logprobs": self.top_logprobs} if self.logprobs else {}
        return {
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": seed,
            **asks,
            **self.extra,
        }

    def greedy(self, max_tokens: int) -> Sampling:
        """The black-box test's settings: temperature 0, no logprobs, the same engine fields."""
        return Sampling(temperature=0.0, top_p=1.0, max_tokens=max_tokens, top_logprobs=0,
                        extra=dict(self.extra), logprobs=False)

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.body("", 0).items() if k not in ("messages", "seed")}


def sample_seed(run_seed: int, stream: str, prompt_id: str, index: int) -> int:
    """A 31-bit seed, distinct per (run seed, stream, prompt, sample index)."""
    digest = hashlib.sha256(f"{run_seed}\0{stream}\0{prompt_id}\0{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def choose_prompts(run_seed: int, n: int, prompts: Sequence[tuple[str, str]] = PROMPTS) -> list[str]:
    """``n`` prompt ids drawn by the run seed (each run tests a different subset)."""
    if not 2 <= n <= len(prompts):
        raise ValueError(f"prompts per run must be in [2, {len(prompts)}], got {n}")
    key = {pid: hashlib.sha256(f"{run_seed}:{pid}".encode()).digest() for pid, _ in prompts}
    return sorted(key, key=key.__getitem__)[:n]


@dataclass(frozen=True)
class Plan:
    """Request ``i`` of an endpoint asks prompt ``i mod P`` for its sample ``i // P``."""

    prompt_ids: tuple[str, ...]
    budget: int

    def slot(self, i: int) -> tuple[str, int]:
        p = len(self.prompt_ids)
        return self.prompt_ids[i % p], i // p


class CaseBuilder:
    """Builds the Case for request ``i`` of a stream; the same Case every time."""

    def __init__(self, sampling: Sampling, prompts: Sequence[tuple[str, str]] = PROMPTS) -> None:
        self.sampling = sampling
        self.prompts = dict(prompts)

    def case(self, plan: Plan, run_seed: int, stream: str, i: int) -> Case:
        pid, index = plan.slot(i)
        seed = sample_seed(run_seed, stream, pid, index)
        return Case(
            id=f"{pid}#{index}",
            body=self.sampling.body(self.prompts[pid], seed),
            expected={"prompt": pid, "index": index},
        )

    def cases(self, plan: Plan, run_seed: int, stream: str, start: int, stop: int) -> list[Case]:
        return [self.case(plan, run_seed, stream, i) for i in range(start, min(stop, plan.budget))]

    def dataset_hash(self) -> str:
        what = {"prompts": sorted(self.prompts.items()), "sampling": self.sampling.describe()}
        return hashlib.sha256(canonical_json(what)).hexdigest()[:32]

"""The black-box test of the equality suite: greedy odd-one-out (pure).

Round ``j`` asks one prompt at temperature 0 (the client's request; a
provider that ignores it is itself unfaithful): twice of the reference, once
of the candidate, each with its own seed. Under H0 the three answers are
exchangeable, so given that exactly one of them differs from the other two,
it is the candidate's with probability 1/3; ``parity.stats.exchangeable``
turns each round into an observation with conditional mean 0 and bets on
"the candidate is the odd one" (a test martingale: valid at any stopping
time). Answers are compared whole, as text.

The reference answers a round only when a candidate asks for it (with the
candidate's own request); every candidate of a run shares those answers.

Prompts are all of the suite's prompts in an order drawn by the run seed;
round ``j`` asks prompt ``j mod P``. Method and assumptions: docs/equality.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from parity.case import Case
from parity.exchange import Exchange
from parity.stats.exchangeable import ExchangeableRankTest, odd_one_out_g

from ._cases import REFERENCE_STREAM, Sampling, sample_seed
from ._prompts import PROMPTS

PREFIX = "greedy"
COPIES = 2  # reference answers per round


def greedy_order(run_seed: int, prompts: Sequence[tuple[str, str]] = PROMPTS) -> tuple[str, ...]:
    """Every prompt id, in an order drawn by the run seed."""
    key = {pid: hashlib.sha256(f"greedy:{run_seed}:{pid}".encode()).digest() for pid, _ in prompts}
    return tuple(sorted(key, key=key.__getitem__))


@dataclass(frozen=True)
class GreedyPlan:
    """Round ``j``: prompt ``j mod P``; the candidate's request ``j``, the reference's ``2j, 2j+1``."""

    prompt_ids: tuple[str, ...]
    budget: int  # rounds = candidate requests at most

    def prompt(self, j: int) -> str:
        return self.prompt_ids[j % len(self.prompt_ids)]

    def case_id(self, j: int, copy: int | None) -> str:
        return f"{PREFIX}:{j}:{self.prompt(j)}" + ("" if copy is None else f":{copy}")


def parse_id(case_id: str) -> tuple[int, int | None] | None:
    """``(round, copy)`` of a greedy case id (copy None for the candidate's), else None."""
    parts = case_id.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or not parts[1].isdigit():
        return None
    if len(parts) == 4:
        return (int(parts[1]), int(parts[3])) if parts[3].isdigit() else None
    return int(parts[1]), None


def parse_round(case_id: str) -> int | None:
    """The round of a candidate's greedy case id, else None."""
    slot = parse_id(case_id)
    return slot[0] if slot is not None and slot[1] is None else None


class GreedyBuilder:
    """The Case of each greedy request; the same Case every time (resume re-sends identical bodies)."""

    def __init__(self, sampling: Sampling, prompts: Sequence[tuple[str, str]] = PROMPTS) -> None:
        self.sampling = sampling
        self.prompts = dict(prompts)

    def _case(self, plan: GreedyPlan, run_seed: int, stream: str, j: int, copy: int | None) -> Case:
        pid = plan.prompt(j)
        index = j if copy is None else COPIES * j + copy
        body = self.sampling.body(self.prompts[pid], sample_seed(run_seed, stream, f"{PREFIX}:{pid}", index))
        return Case(id=plan.case_id(j, copy), body=body,
                    expected={"prompt": pid, "round": j, "copy": copy})

    def candidate(self, plan: GreedyPlan, run_seed: int, stream: str, start: int, stop: int) -> list[Case]:
        return [self._case(plan, run_seed, stream, j, None) for j in range(start, min(stop, plan.budget))]

    def reference(self, plan: GreedyPlan, run_seed: int, start: int = 0, stop: int | None = None
                  ) -> list[Case]:
        """The reference's answers to rounds ``start``..``stop`` (drawn when a candidate needs them)."""
        end = plan.budget if stop is None else min(stop, plan.budget)
        return [self._case(plan, run_seed, REFERENCE_STREAM, j, c)
                for j in range(start, end) for c in range(COPIES)]


@dataclass
class Answers:
    """Greedy answers of one endpoint, by round (text compared whole)."""

    by_round: dict[int, list[str]] = field(default_factory=dict)  # round -> answers in copy order
    tokens: int = 0  # completion tokens reported (usage)
    tokens_reported: bool = True


def completion_tokens(exchanges: Iterable[Exchange]) -> tuple[int, bool]:
    """Completion tokens the endpoint reported over ``exchanges``; False if some answer reported none."""
    total, complete = 0, True
    for x in exchanges:
        n = (x.completion.usage or {}).get("completion_tokens") if x.completion is not None else None
        if isinstance(n, int) and n >= 0:
            total += n
        elif x.ok:
            complete = False
    return total, complete


def answers(exchanges: Iterable[Exchange]) -> Answers:
    got: dict[int, dict[int, str]] = {}
    out = Answers()
    mine = [x for x in exchanges if parse_id(x.case_id) is not None]
    out.tokens, out.tokens_reported = completion_tokens(mine)
    for x in mine:
        slot = parse_id(x.case_id)
        if slot is None:
            continue
        if x.ok and x.completion is not None:
            got.setdefault(slot[0], {})[slot[1] or 0] = x.completion.content or ""
    out.by_round = {j: [v[c] for c in sorted(v)] for j, v in got.items()}
    return out


@dataclass
class GreedyDecision:
    rejected: bool = False
    stopped_at: int | None = None  # rounds (candidate requests) when the wealth crossed 1/α
    sent: int = 0  # candidate requests the decision covered
    test: ExchangeableRankTest = field(default_factory=ExchangeableRankTest)
    reference_differs: int = 0  # rounds where the reference's two answers differ
    candidate_differs: int = 0  # rounds where the candidate's answer differs from both of the reference's

    @property
    def p_value(self) -> float:
        return min(1.0, 1.0 / max(self.test.max_e_value, 1.0))


def decide_greedy(ref: Answers, cand: Answers, alpha: float, sent: int) -> GreedyDecision:
    """Bet over rounds ``0 .. sent-1`` in order; stop at the first crossing of ``1/α``.

    A round lacking an answer (a failed request) is skipped: whether a request
    fails does not depend on which endpoint's answer is odd.
    """
    d = GreedyDecision(sent=sent)
    for j in range(sent):
        r, c = ref.by_round.get(j, []), cand.by_round.get(j)
        if len(r) < COPIES or not c:
            continue
        d.reference_differs += r[0] != r[1]
        d.candidate_differs += c[0] != r[0] and c[0] != r[1]
        d.test.update(odd_one_out_g(r[:COPIES], c[0]))
        if d.test.rejects(alpha):
            d.rejected, d.stopped_at = True, j + 1
            break
    return d

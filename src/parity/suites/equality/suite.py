"""The equality suite: is the candidate sampling from the reference's distribution?

The reference draws ``budget`` completions (``prompts`` prompts chosen by the
run seed, in cycles of one sample each); a candidate draws the same plan in
batches of one cycle and stops as soon as the sequential test (see
``_decide``) rejects equality, or when the budget is spent.

A candidate that reports no logprobs (its first sampled answer has none, or
``logprobs=False``) is judged by the greedy odd-one-out test instead
(``_greedy``; ``blackbox="mmd"`` keeps the sampled-text MMD): the reference
then also answers, twice at temperature 0, the greedy rounds that candidate
asks — drawn on demand, next to the candidate's own requests, and shared by
every candidate, so a run whose candidates all report logprobs sends the
reference no greedy request. Method and assumptions: ``docs/equality.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from parity.case import Case
from parity.config import RunSettings
from parity.exchange import Exchange
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Verdict

from ._cases import REFERENCE_STREAM, CaseBuilder, Plan, Sampling, choose_prompts
from ._decide import Decision, Design, decide
from ._greedy import (
    GreedyBuilder,
    GreedyDecision,
    GreedyPlan,
    answers,
    decide_greedy,
    greedy_order,
    parse_round,
)
from ._judge import candidate_verdict, greedy_verdict, reference_verdict
from ._samples import samples

NAME = "equality"
BLACKBOX = ("greedy", "mmd")


@register(NAME)
class EqualitySuite:
    """Two-sample tests on sampled completions, decided with the fewest requests."""

    name = NAME

    def __init__(
        self,
        *,
        budget: int = 100,
        prompts: int = 25,
        sampling: Sampling | None = None,
        rho: float = 2.0,
        n_permutations: int = 2000,
        logprob_scale: float = 0.05,
        logprobs: bool = True,
        extra: dict[str, Any] | None = None,
        blackbox: str = "greedy",
        greedy_budget: int | None = None,
        greedy_tokens: int = 32,
        greedy_batch: int = 5,
    ) -> None:
        self.sampling = sampling or Sampling()
        if extra is not None:
            self.sampling = Sampling(**{**self.sampling.__dict__, "extra": dict(extra)})
        if budget < 2 * prompts:
            raise ValueError(f"budget {budget} < 2 x prompts ({prompts}): each prompt needs 2 samples")
        if blackbox not in BLACKBOX:
            raise ValueError(f"blackbox must be one of {', '.join(BLACKBOX)}, got {blackbox!r}")
        if greedy_tokens < 1 or greedy_batch < 1 or (greedy_budget is not None and greedy_budget < 1):
            raise ValueError("greedy_budget, greedy_tokens and greedy_batch must be >= 1")
        self.budget, self.prompts = budget, prompts
        self.rho, self.n_permutations, self.logprob_scale = rho, n_permutations, logprob_scale
        self.logprobs = logprobs
        self.builder = CaseBuilder(self.sampling)
        self.blackbox = blackbox
        self.greedy_budget = greedy_budget or budget
        self.greedy_batch = greedy_batch
        self.greedy = GreedyBuilder(self.sampling.greedy(greedy_tokens))

    @property
    def sampled(self) -> bool:
        """Whether the sampled plan is drawn at all (not when only the greedy test can be used)."""
        return self.blackbox == "mmd" or self.logprobs

    def dataset_hash(self) -> str:
        # The decision settings are part of what a run asked: resuming must not change them.
        greedy = "" if self.blackbox == "mmd" else (
            f":greedy:{self.greedy_budget}:{self.greedy.sampling.max_tokens}:{self.greedy_batch}")
        return self.builder.dataset_hash() + (
            f":{self.budget}:{self.prompts}:{self.rho}:{self.n_permutations}:"
            f"{self.logprob_scale}:{int(self.logprobs)}") + greedy

    def planned(self, role: Role, settings: RunSettings) -> int | None:
        # The reference's own collect sends the sampled plan; its greedy answers are drawn on a
        # candidate's demand (adaptive, like the candidate's requests).
        if role is not Role.REFERENCE:
            return None
        return self.budget if self.sampled else 0

    def greedy_plan(self, settings: RunSettings) -> GreedyPlan:
        return GreedyPlan(greedy_order(settings.seed), self.greedy_budget)

    def plan(self, settings: RunSettings) -> Plan:
        return Plan(tuple(choose_prompts(settings.seed, self.prompts)), self.budget)

    def design(self, settings: RunSettings) -> Design:
        return Design(alpha=settings.alpha, budget=self.budget, batch=self.prompts,
                      max_tokens=self.sampling.max_tokens, seed=settings.seed, rho=self.rho,
                      n_permutations=self.n_permutations, logprob_scale=self.logprob_scale,
                      use_logprobs=self.logprobs)

    def cases(self, settings: RunSettings, stream: str, start: int = 0, stop: int | None = None
              ) -> list[Case]:
        """Requests ``start``..``stop`` of one stream (an endpoint's share of the plan)."""
        plan = self.plan(settings)
        return self.builder.cases(plan, settings.seed, stream, start, stop or plan.budget)

    def reference_cases(self, settings: RunSettings) -> list[Case]:
        """What the reference's own collect sends: the sampled plan (greedy rounds come on demand)."""
        return self.cases(settings, REFERENCE_STREAM) if self.sampled else []

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        if role is Role.REFERENCE:
            await sender.send_all((c, 0) for c in self.reference_cases(settings))
            return
        stream = sender.endpoint.name
        probe = await sender.send_all((c, 0) for c in self.cases(settings, stream, 0, 1)) \
            if self.sampled else []
        if self._uses_greedy(probe):
            await self._collect_greedy(sender, settings)
            return
        ref_ex = await sender.reference()
        plan, design = self.plan(settings), self.design(settings)
        ref = samples(ref_ex, self._order(plan))
        got: list[Exchange] = list(probe)
        for start in range(0, plan.budget, design.batch):
            stop = min(start + design.batch, plan.budget)
            # The probe is request 0 of the first batch: already sent.
            got += await sender.send_all((c, 0) for c in self.cases(settings, stream, max(start, len(probe)), stop))
            # A function of stored answers only: a resumed run takes the same decisions.
            if decide(ref, samples(got, self._order(plan)), design, stop).rejected:
                return

    def _uses_greedy(self, probe: Sequence[Exchange]) -> bool:
        """The greedy test judges a candidate whose first sampled answer reports no logprobs.

        A function of a stored answer: a resumed run takes the same path.
        """
        if self.blackbox != "greedy":
            return False
        if not self.logprobs:
            return True
        got = samples(probe, {x.case_id: 0 for x in probe})
        return not got or got[0].first_top is None

    async def _collect_greedy(self, sender: Sender, settings: RunSettings) -> None:
        """Batches of rounds: the reference's two answers and the candidate's, sent together."""
        plan, alpha, seed = self.greedy_plan(settings), settings.alpha, settings.seed
        to_ref = sender.to_reference()
        ref_got: list[Exchange] = []
        got: list[Exchange] = []
        for start in range(0, plan.budget, self.greedy_batch):
            stop = min(start + self.greedy_batch, plan.budget)
            cases = self.greedy.candidate(plan, seed, sender.endpoint.name, start, stop)
            r, c = await asyncio.gather(
                to_ref.send_all((x, 0) for x in self.greedy.reference(plan, seed, start, stop)),
                sender.send_all((x, 0) for x in cases))
            ref_got += r
            got += c
            if decide_greedy(answers(ref_got), answers(got), alpha, stop).rejected:
                return

    def replay_greedy(self, ref_ex: Sequence[Exchange], cand_ex: Sequence[Exchange],
                      settings: RunSettings) -> GreedyDecision:
        """The greedy decision collect() took, recomputed from stored exchanges."""
        cand = answers(cand_ex)
        sent = max((x for x in (parse_round(e.case_id) for e in cand_ex) if x is not None), default=-1) + 1
        sent = min(self.greedy_budget, -(-sent // self.greedy_batch) * self.greedy_batch)
        return decide_greedy(answers(ref_ex), cand, settings.alpha, sent)

    def _order(self, plan: Plan) -> dict[str, int]:
        return {f"{plan.slot(i)[0]}#{plan.slot(i)[1]}": i for i in range(plan.budget)}

    def replay(self, ref_ex: Sequence[Exchange], cand_ex: Sequence[Exchange],
               settings: RunSettings) -> Decision:
        """The decision collect() took, recomputed from stored exchanges."""
        plan, design = self.plan(settings), self.design(settings)
        order = self._order(plan)
        last = max((order[x.case_id] for x in cand_ex if x.case_id in order), default=-1)
        sent = min(plan.budget, -(-(last + 1) // design.batch) * design.batch)
        return decide(samples(ref_ex, order), samples(cand_ex, order), design, sent)

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        s = ctx.settings
        plan, design = self.plan(s), self.design(s)
        ref_ex = ctx.exchanges.get(ctx.reference, [])
        ref = samples(ref_ex, self._order(plan))
        greedy_ref = answers(ref_ex) if self.blackbox == "greedy" else None
        out = [reference_verdict(ctx.reference, ref, ref_ex, design, self.sampling, greedy_ref,
                                 self.greedy.sampling)]
        for ep in ctx.endpoints:
            if ep.name == ctx.reference:
                continue
            exs = ctx.exchanges.get(ep.name, [])
            probe = [x for x in exs if x.case_id == self.cases(s, ep.name, 0, 1)[0].id]
            if self._uses_greedy(probe):
                g = self.replay_greedy(ref_ex, exs, s)
                out.append(greedy_verdict(ep.name, g, ref_ex, exs, s.alpha, self.greedy_budget,
                                          self.greedy.sampling))
                continue
            d = self.replay(ref_ex, exs, s)
            cand = samples(exs, self._order(plan))
            out.append(candidate_verdict(ep.name, d, ref, cand, ref_ex, exs, design, self.sampling))
        return out

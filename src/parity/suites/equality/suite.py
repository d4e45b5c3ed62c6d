"""The equality suite: is the candidate sampling from the reference's distribution?

The reference draws ``budget`` completions (``prompts`` prompts chosen by the
run seed, in cycles of one sample each); a candidate draws the same plan in
batches of one cycle and stops as soon as the sequential test (see
``_decide``) rejects equality, or when the budget is spent. Method and
assumptions: ``docs/equality.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parity.case import Case
from parity.config import RunSettings
from parity.exchange import Exchange
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Verdict

from ._cases import REFERENCE_STREAM, CaseBuilder, Plan, Sampling, choose_prompts
from ._decide import Decision, Design, decide
from ._judge import candidate_verdict, reference_verdict
from ._samples import samples

NAME = "equality"


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
    ) -> None:
        self.sampling = sampling or Sampling()
        if extra is not None:
            self.sampling = Sampling(**{**self.sampling.__dict__, "extra": dict(extra)})
        if budget < 2 * prompts:
            raise ValueError(f"budget {budget} < 2 x prompts ({prompts}): each prompt needs 2 samples")
        self.budget, self.prompts = budget, prompts
        self.rho, self.n_permutations, self.logprob_scale = rho, n_permutations, logprob_scale
        self.logprobs = logprobs
        self.builder = CaseBuilder(self.sampling)

    def dataset_hash(self) -> str:
        # The decision settings are part of what a run asked: resuming must not change them.
        return self.builder.dataset_hash() + (
            f":{self.budget}:{self.prompts}:{self.rho}:{self.n_permutations}:"
            f"{self.logprob_scale}:{int(self.logprobs)}")

    def planned(self, role: Role, settings: RunSettings) -> int | None:
        return self.budget if role is Role.REFERENCE else None

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

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        if role is Role.REFERENCE:
            await sender.send_all((c, 0) for c in self.cases(settings, REFERENCE_STREAM))
            return
        plan, design = self.plan(settings), self.design(settings)
        ref = samples(await sender.reference(), self._order(plan))
        stream = sender.endpoint.name
        got: list[Exchange] = []
        for start in range(0, plan.budget, design.batch):
            stop = min(start + design.batch, plan.budget)
            got += await sender.send_all((c, 0) for c in self.cases(settings, stream, start, stop))
            # A function of stored answers only: a resumed run takes the same decisions.
            if decide(ref, samples(got, self._order(plan)), design, stop).rejected:
                return

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
        out = [reference_verdict(ctx.reference, ref, ref_ex, design, self.sampling)]
        for ep in ctx.endpoints:
            if ep.name == ctx.reference:
                continue
            exs = ctx.exchanges.get(ep.name, [])
            d = self.replay(ref_ex, exs, s)
            cand = samples(exs, self._order(plan))
            out.append(candidate_verdict(ep.name, d, ref, cand, ref_ex, exs, design, self.sampling))
        return out

"""The accuracy suite: tasks with known answers, each answered ``k`` times per endpoint.

The reference answers every item of the plan; a candidate answers the items in
batches and stops as soon as the sequential decision (``_decide``) is reached.
Method and assumptions: ``docs/accuracy.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.config import RunSettings
from parity.exchange import Exchange
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Verdict

from ._decide import Decision, Design, decide
from ._grade import item_scores
from ._judge import TaskSetInfo, candidate_verdict, reference_verdict
from ._plan import REFERENCE_STREAM, Plan, Sampling, item_order
from ._tasks import Task, load_task_set

NAME = "accuracy"


@register(NAME)
class AccuracySuite:
    """Accuracy against the reference, paired by item, decided with the fewest requests."""

    name = NAME

    def __init__(self, *, tasks: str | Sequence[Task] | None = None, limit: int | None = None,
                 k: int | None = None, batch: int = 20, sampling: Sampling | None = None,
                 max_tokens: int | None = None, temperature: float | None = None,
                 top_p: float | None = None) -> None:
        if isinstance(tasks, str | None):
            self.label = tasks or "builtin"
            task_set = load_task_set(self.label)
            loaded, self.skipped = task_set.tasks, task_set.skipped  # skipped: item -> why
        else:
            self.label, loaded, self.skipped = "given in code", list(tasks), {}
        if k is not None and not 1 <= k <= 100:
            raise ValueError(f"repeats per item must be in [1, 100], got {k}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        sampling = sampling or Sampling()
        if temperature is not None or top_p is not None:
            if temperature is not None and not 0.0 <= temperature <= 2.0:
                raise ValueError(f"temperature must be in [0, 2], got {temperature}")
            if top_p is not None and not 0.0 < top_p <= 1.0:
                raise ValueError(f"top_p must be in (0, 1], got {top_p}")
            sampling = Sampling(sampling.temperature if temperature is None else temperature,
                                sampling.top_p if top_p is None else top_p, sampling.max_tokens)
        self.sampling = sampling
        self.tasks, self.limit, self.k, self.batch = loaded, limit, k or sampling.default_repeats(), batch
        if max_tokens is not None:
            self.sampling = Sampling(self.sampling.temperature, self.sampling.top_p, max_tokens)
            self.tasks = [t.model_copy(update={"max_tokens": min(t.max_tokens or max_tokens, max_tokens)})
                          for t in self.tasks]
        self.by_id = {t.id: t for t in self.tasks}

    def plan(self, settings: RunSettings) -> Plan:
        items = item_order(self.tasks, settings.seed)[: self.limit]
        return Plan(tuple(items), self.k, min(self.batch, len(items)))

    def design(self, settings: RunSettings) -> Design:
        plan = self.plan(settings)
        return Design(alpha=settings.alpha, margin=settings.margin, looks=tuple(plan.looks()), k=plan.k)

    def dataset_hash(self) -> str:
        return self.plan(RunSettings()).dataset_hash(self.sampling) + f":{self.limit}"

    def planned(self, role: Role, settings: RunSettings) -> int | None:
        n = len(self.plan(settings).items) * self.k
        return n if role is Role.REFERENCE else None

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        plan = self.plan(settings)
        if role is Role.REFERENCE:
            cases = plan.cases(self.sampling, settings.seed, REFERENCE_STREAM, 0, len(plan.items))
            await sender.send_all((c, 0) for c in cases)
            return
        design, order = self.design(settings), [t.id for t in plan.items]
        ref = item_scores(await sender.reference(), self.by_id)
        got: list[Exchange] = []
        start = 0
        for stop in design.looks:
            cases = plan.cases(self.sampling, settings.seed, sender.endpoint.name, start, stop)
            got += await sender.send_all((c, 0) for c in cases)
            start = stop
            # A function of stored answers only: a resumed run takes the same decisions.
            if decide(order, ref, item_scores(got, self.by_id), design, stop).stopped_at is not None:
                return

    def replay(self, ref_ex: Sequence[Exchange], cand_ex: Sequence[Exchange],
               settings: RunSettings) -> Decision:
        """The decision collect() took, recomputed from stored exchanges."""
        plan, design = self.plan(settings), self.design(settings)
        order = [t.id for t in plan.items]
        pos = {item: i for i, item in enumerate(order)}
        last = max((pos.get(x.case_id.rpartition("#")[0], -1) for x in cand_ex), default=-1)
        sent = next((n for n in design.looks if n > last), len(order))
        return decide(order, item_scores(ref_ex, self.by_id), item_scores(cand_ex, self.by_id),
                      design, sent)

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        s = ctx.settings
        design = self.design(s)
        ref_ex = ctx.exchanges.get(ctx.reference, [])
        ref = item_scores(ref_ex, self.by_id)
        items = self.plan(s).items
        about = TaskSetInfo(self.label, sorted({t.scorer for t in items}), len(items), self.skipped)
        out = [reference_verdict(ctx.reference, ref, ref_ex, design, self.sampling.describe(), about)]
        for ep in ctx.endpoints:
            if ep.name == ctx.reference:
                continue
            exs = ctx.exchanges.get(ep.name, [])
            d = self.replay(ref_ex, exs, s)
            cand = item_scores(exs, self.by_id)
            out.append(candidate_verdict(ep.name, d, ref, cand, ref_ex, exs, design))
        return out

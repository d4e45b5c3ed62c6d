"""The sequential decision: group-sequential MMD (black box) and a logprob e-process.

Pure. Given the reference's samples (drawn to the full budget) and the
candidate's samples so far, say at which look, if any, equality is rejected.

* Black box: at each look ``n_k`` (every ``batch`` candidate requests) the
  candidate's first ``n_k`` samples are compared with all reference samples by
  the stratified-permutation MMD test under a Hamming kernel (Gao et al. 2025).
  Look ``k`` spends ``α_bb · ((n_k/B)^ρ − (n_{k-1}/B)^ρ)``; by the union bound
  the chance of any false rejection over all looks is at most ``α_bb``.
* Logprobs: per prompt, ``d = TV(r₀, c₀) − TV(r₀, r₁)`` at the first generated
  position (same prefix on both sides by construction), where ``r₀, r₁`` are the
  reference's reports for samples 0 and 1 and ``c₀`` the candidate's for sample 0.
  If under H0 the candidate's report is exchangeable with a second report of
  the reference, ``d`` is symmetric about 0, and ``clip(d/scale)`` is bet on by a
  test martingale; it rejects when its wealth reaches ``1/α_lp`` (Ville).
* With both, ``α_bb = α_lp = α/2``; without logprobs the black box gets ``α``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from parity.stats import BettingTest, topk_tv_lower_bound
from parity.stats.stratified import stratified_mmd_test

from ._samples import Sample, sequence, use_tokens

CHARS_PER_TOKEN = 4  # kernel length in characters when tokens are not reported


@dataclass(frozen=True)
class Design:
    """The decision rule's constants, fixed before any answer is seen."""

    alpha: float
    budget: int
    batch: int
    max_tokens: int
    seed: int = 0
    rho: float = 2.0
    n_permutations: int = 2000
    logprob_scale: float = 0.05
    use_logprobs: bool = True  # False: black box only, whatever the endpoints report

    def looks(self) -> list[int]:
        return [*range(self.batch, self.budget, self.batch), self.budget]

    def spending(self, alpha: float) -> list[float]:
        """Black-box alpha per look; none at the first (one sample per prompt: no MMD)."""
        cum = [0.0 if n < 2 * self.batch else alpha * (n / self.budget) ** self.rho
               for n in self.looks()]
        return [c - p for c, p in zip(cum, [0.0, *cum[:-1]], strict=True)]


@dataclass(frozen=True)
class Look:
    n: int  # candidate samples compared at this look
    statistic: float | None  # None where the look runs no MMD
    p_value: float
    alpha: float  # black-box alpha spent at this look
    e_value: float | None  # logprob wealth after the samples of this look


@dataclass
class Decision:
    rejected: bool = False
    by: str | None = None  # "mmd" or "logprob"
    stopped_at: int | None = None  # candidate requests at the rejecting look
    looks: list[Look] = field(default_factory=list)
    tokens: bool = False
    logprob: bool = False
    alpha_bb: float = 0.0
    alpha_lp: float = 0.0
    tv: dict[str, float] = field(default_factory=dict)  # prompt -> TV(r0, c0)
    tv_ref: dict[str, float] = field(default_factory=dict)  # prompt -> TV(r0, r1)
    betting: BettingTest = field(default_factory=BettingTest)

    @property
    def p_bb(self) -> float:
        """The black-box p-value over its looks (weighted Bonferroni): rejects iff ``<= α_bb``."""
        ps = [min(1.0, lk.p_value * self.alpha_bb / lk.alpha) for lk in self.looks if lk.alpha > 0]
        return min(ps, default=1.0)

    @property
    def p_value(self) -> float:
        """Bonferroni over the two tests and the looks: reject iff ``p_value <= α``."""
        p_bb = self.p_bb
        if not self.logprob:
            return p_bb
        p_lp = 1.0 / max(self.betting.max_e_value, 1.0)
        return min(1.0, 2.0 * min(p_bb, p_lp))


def _tops(samples: Sequence[Sample]) -> dict[tuple[str, int], dict[str, float]]:
    return {(s.prompt, s.index): s.first_top for s in samples if s.first_top is not None}


def _bet(d: Decision, ref_tops: dict[tuple[str, int], dict[str, float]], c: Sample, scale: float) -> None:
    r0, r1 = ref_tops.get((c.prompt, 0)), ref_tops.get((c.prompt, 1))
    if c.index != 0 or c.first_top is None or r0 is None or r1 is None or c.prompt in d.tv:
        return
    d.tv[c.prompt] = topk_tv_lower_bound(r0, c.first_top)
    d.tv_ref[c.prompt] = topk_tv_lower_bound(r0, r1)
    diff = d.tv[c.prompt] - d.tv_ref[c.prompt]
    d.betting.update(min(max(diff / scale, -1.0), 1.0))


def _mmd(ref: Sequence[Sample], cand: Sequence[Sample], design: Design, tokens: bool,
         k: int) -> tuple[float | None, float]:
    length = design.max_tokens * (1 if tokens else CHARS_PER_TOKEN)
    r = stratified_mmd_test(
        [sequence(s, tokens) for s in ref], [sequence(s, tokens) for s in cand], length=length,
        n_permutations=design.n_permutations, seed=design.seed * 1000 + k,
        prompt_ids_x=[s.prompt for s in ref], prompt_ids_y=[s.prompt for s in cand])
    return (None if math.isnan(r.statistic) else r.statistic), r.p_value


def decide(ref: Sequence[Sample], cand: Sequence[Sample], design: Design, sent: int) -> Decision:
    """Run the looks reached by ``sent`` candidate requests, in order; stop at the first rejection.

    ``cand`` holds the answered ones among the first ``sent`` requests (failed
    requests are missing). During collection this decides whether to send the
    next batch; evaluation replays it over what was stored.
    """
    ref_tops = _tops(ref)
    d = Decision(tokens=use_tokens(ref, cand))
    d.logprob = design.use_logprobs and bool(ref_tops) and any(
        s.first_top is not None for s in cand if s.order < design.batch)
    d.alpha_bb = design.alpha / 2 if d.logprob else design.alpha
    d.alpha_lp = design.alpha / 2 if d.logprob else 0.0
    seen = 0
    for k, (n, a) in enumerate(zip(design.looks(), design.spending(d.alpha_bb), strict=True)):
        if n > sent:
            break
        upto = [s for s in cand if s.order < n]
        if d.logprob:
            for c in upto[seen:]:
                _bet(d, ref_tops, c, design.logprob_scale)
        seen = len(upto)
        stat, p = _mmd(ref, upto, design, d.tokens, k) if a > 0 else (None, 1.0)
        d.looks.append(Look(n=n, statistic=stat, p_value=p, alpha=a,
                            e_value=d.betting.e_value if d.logprob else None))
        if d.logprob and d.betting.rejects(d.alpha_lp):
            d.rejected, d.by, d.stopped_at = True, "logprob", n
        elif a > 0 and p <= a:
            d.rejected, d.by, d.stopped_at = True, "mmd", n
        if d.rejected:
            break
    return d

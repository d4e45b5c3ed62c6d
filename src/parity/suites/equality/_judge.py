"""Verdicts of the equality suite: what was decided, what it cost, what it could have seen."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from parity.exchange import Exchange, requests_spent
from parity.stats import BettingTest
from parity.verdict import Estimate, Outcome, TestResult, Verdict

from ._cases import Sampling
from ._decide import Decision, Design
from ._metrics import agreement, decision_metrics
from ._samples import Sample, use_tokens

NAME = "equality"
TEST_NAME = ("group-sequential MMD (Hamming kernel, stratified permutation, power α-spending)"
             " + first-token logprob e-process; Bonferroni")
MIN_OK = 0.9  # below this share of answered requests, not failing is inconclusive


@cache
def prompts_to_reject(alpha: float) -> int:
    """How many prompts with a first-token divergence of at least ``scale`` reject at ``alpha``."""
    t = BettingTest()
    while not t.rejects(alpha) and t.n < 10_000:
        t.update(1.0)
    return t.n


def reference_verdict(name: str, ref: Sequence[Sample], ref_ex: Sequence[Exchange], design: Design,
                      sampling: Sampling) -> Verdict:
    tokens = use_tokens(ref)
    metrics = agreement(ref, None, tokens, design.max_tokens)
    return Verdict(
        endpoint=name, suite=NAME, verdict=Outcome.REFERENCE, test="reference: samples drawn once,"
        " shared by every candidate", alpha=design.alpha, requests=requests_spent(ref_ex), metrics=metrics,
        reasons=[f"{len(ref)} of {design.budget} samples answered; sampling {sampling.describe()}",
                 "agreement metrics here are the reference with itself: the noise floor"],
    )


def _tests(d: Decision, design: Design) -> list[TestResult]:
    looks = [{"n": lk.n, "statistic": lk.statistic, "p_value": lk.p_value, "alpha": lk.alpha,
              "e_value": lk.e_value} for lk in d.looks]
    last = d.looks[-1] if d.looks else None
    out = [TestResult(
        name="mmd_hamming_" + ("tokens" if d.tokens else "chars"),
        statistic=last.statistic if last else None, p_value=last.p_value if last else None,
        p_adjusted=d.p_bb if d.looks else None,
        rejected=d.by == "mmd", detail={"alpha": d.alpha_bb, "looks": looks, "rho": design.rho},
    )]
    if d.logprob:
        out.append(TestResult(
            name="first_token_logprob_betting", statistic=sum(d.tv.values()) / max(len(d.tv), 1),
            e_value=d.betting.e_value, rejected=d.by == "logprob",
            detail={"alpha": d.alpha_lp, "prompts": len(d.tv), "scale": design.logprob_scale,
                    "max_e_value": d.betting.max_e_value},
        ))
    return out


def _outcome(d: Decision, cand: Sequence[Sample], ref: Sequence[Sample], design: Design
             ) -> tuple[Outcome, list[str]]:
    spent = d.looks[-1].n if d.looks else 0
    if d.rejected:
        what = (f"first-token logprob e-value {d.betting.max_e_value:.3g} >= {1 / d.alpha_lp:.3g}"
                if d.by == "logprob" else
                f"MMD p = {d.looks[-1].p_value:.4g} <= {d.looks[-1].alpha:.3g} spent at this look")
        return Outcome.FAIL, [f"equality rejected after {d.stopped_at} requests: {what}"]
    if spent < design.budget:
        return Outcome.INCONCLUSIVE, [f"collection ended after {spent} of {design.budget} requests"]
    if len(cand) < MIN_OK * design.budget or len(ref) < MIN_OK * design.budget:
        return Outcome.INCONCLUSIVE, [f"too few answers to judge: candidate {len(cand)}, reference "
                                      f"{len(ref)} of {design.budget}"]
    why = [f"no difference detected within the budget of {design.budget} requests "
           f"(combined p = {d.p_value:.3g} > α = {design.alpha}); this is not proof of equality"]
    if d.logprob:
        why.append(f"the logprob test would have failed had {prompts_to_reject(d.alpha_lp)} or more "
                   f"of {len(d.tv)} prompts shown a first-token TV at least {design.logprob_scale} "
                   "above the reference's own")
    else:
        why.append("black-box test only (no logprobs): small shifts such as a finer quantization "
                   "go unseen at this budget; see docs/equality.md for its measured power")
    return Outcome.PASS, why


def candidate_verdict(name: str, d: Decision, ref: Sequence[Sample], cand: Sequence[Sample],
                      ref_ex: Sequence[Exchange], exs: Sequence[Exchange], design: Design,
                      sampling: Sampling) -> Verdict:
    outcome, reasons = _outcome(d, cand, ref, design)
    metrics: dict[str, Estimate] = agreement(ref, cand, d.tokens, design.max_tokens)
    metrics.update(decision_metrics(d, design.budget))
    reasons.append(f"sampling {sampling.describe()}; "
                   f"{'token' if d.tokens else 'character'} sequences of {design.max_tokens} tokens")
    return Verdict(
        endpoint=name, suite=NAME, verdict=outcome, test=TEST_NAME, p_value=d.p_value,
        e_value=d.betting.e_value if d.logprob else None, alpha=design.alpha,
        requests=requests_spent(exs), reference_requests=requests_spent(ref_ex), metrics=metrics,
        tests=_tests(d, design), reasons=reasons,
    )

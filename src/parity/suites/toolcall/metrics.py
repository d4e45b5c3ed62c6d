"""Tool-call metrics over Observations, each an Estimate with its interval and count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from parity.checks import INVALID_JSON, MARKUP_IN_CONTENT, SCHEMA_MISMATCH, UNKNOWN_NAME
from parity.stats import wilson
from parity.verdict import Estimate, EstimateKind

from .observe import Observation

N_BOOT = 1000


def _k2vv_vector(o: Observation) -> tuple[int, int, int, int, int]:
    """K2VV's five counts for one answer: stop, tool_calls, others, schema error, success."""
    if not o.ok:
        return (0, 0, 0, 0, 0)
    tc = o.finish == "tool_calls"
    valid = tc and o.n_calls > 0 and o.calls_valid == o.n_calls
    return (
        int(o.finish == "stop"),
        int(tc),
        int(o.finish not in ("stop", "tool_calls", None)),
        int(tc and not valid),
        int(valid),
    )


def single_metrics(obs: Sequence[Observation]) -> dict[str, Estimate]:
    """Metrics of one endpoint on its own (all repeats pooled)."""
    ok = [o for o in obs if o.ok]
    calls = sum(o.n_calls for o in ok)
    n_ok = len(ok)
    vec = np.array([_k2vv_vector(o) for o in obs], dtype=np.int64).reshape(-1, 5).sum(axis=0)
    m: dict[str, Estimate] = {
        "request_failure_rate": wilson(len(obs) - n_ok, len(obs)),
        "propensity": wilson(sum(o.finish == "tool_calls" for o in ok), n_ok),
        "finish_stop": wilson(int(vec[0]), n_ok),
        "finish_tool_calls": wilson(int(vec[1]), n_ok),
        "finish_others": wilson(int(vec[2]), n_ok),
        "k2vv_schema_errors": wilson(int(vec[3]), int(vec[1])),
        "k2vv_successful_tool_calls": wilson(int(vec[4]), int(vec[1])),
        "toolcall_error_rate": wilson(sum(o.has_error for o in ok), n_ok),
        "schema_accuracy": wilson(sum(o.calls_valid for o in ok), calls),
    }
    for name in (INVALID_JSON, UNKNOWN_NAME, SCHEMA_MISMATCH, MARKUP_IN_CONTENT):
        m[f"rate.{name}"] = wilson(sum(name in o.errors for o in ok), n_ok)
    cats = sorted({o.bfcl_category for o in ok if o.bfcl_category})
    for cat in cats:
        mine = [o for o in ok if o.bfcl_category == cat]
        m[f"bfcl_accuracy.{cat}"] = wilson(sum(bool(o.bfcl_ok) for o in mine), len(mine))
    return m


def paired(
    cand: Sequence[Observation], ref: Sequence[Observation]
) -> list[tuple[Observation, Observation]]:
    """Pairs (candidate, reference) of the same case and repeat index 0 on the reference side.

    Ordered by case and repeat, not by the order the answers came in: the
    bootstrap resamples positions, so its interval must not depend on
    which request happened to finish first.
    """
    by_key = {o.key: o for o in ref}
    pairs = [(c, by_key[c.key]) for c in cand if c.key in by_key]
    return sorted(pairs, key=lambda p: (p[0].key, p[0].repeat))


# What each comparison metric is (report: proportions in %).
_KINDS = {
    "trigger_precision": EstimateKind.PROPORTION,
    "trigger_recall": EstimateKind.PROPORTION,
    "trigger_f1": EstimateKind.RATE,
    "trigger_agreement": EstimateKind.PROPORTION,
    "k2vv_similarity": EstimateKind.RATE,  # 1 - a normalised distance, not a share of cases
}


def comparison_metrics(
    cand: Sequence[Observation], ref: Sequence[Observation], seed: int = 0
) -> dict[str, Estimate]:
    """Trigger precision/recall/F1 against the reference and K2VV similarity, bootstrapped by case."""
    pairs = paired(cand, ref)
    n = len(pairs)
    if n == 0:
        return {
            k: Estimate(value=None, n=0, kind=_KINDS[k])
            for k in ("trigger_f1", "trigger_agreement", "k2vv_similarity")
        }
    c_call = np.array([c.called for c, _ in pairs])
    r_call = np.array([r.called for _, r in pairs])
    cv = np.array([_k2vv_vector(c) for c, _ in pairs], dtype=np.float64)
    rv = np.array([_k2vv_vector(r) for _, r in pairs], dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = np.vstack([np.arange(n)[None, :], rng.integers(0, n, size=(N_BOOT, n))])
    tp = (c_call & r_call)[idx].sum(axis=1).astype(float)
    fp = (c_call & ~r_call)[idx].sum(axis=1).astype(float)
    fn = (~c_call & r_call)[idx].sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    agree = (c_call == r_call)[idx].mean(axis=1)
    dist = np.linalg.norm(cv[idx].sum(axis=1) - rv[idx].sum(axis=1), axis=1)
    similarity = 1.0 - dist / n
    out: dict[str, Estimate] = {}
    # Precision, recall and F1 are undefined when nobody called a tool: say so, not 0.
    undefined = {
        "trigger_precision": tp[0] + fp[0] == 0,
        "trigger_recall": tp[0] + fn[0] == 0,
        "trigger_f1": tp[0] + fp[0] + fn[0] == 0,
    }
    for name, reps in (
        ("trigger_precision", precision),
        ("trigger_recall", recall),
        ("trigger_f1", f1),
        ("trigger_agreement", agree),
        ("k2vv_similarity", similarity),
    ):
        lo, hi = np.quantile(reps[1:], [0.025, 0.975])
        if undefined.get(name):
            out[name] = Estimate(value=None, n=n, method="bootstrap-percentile", kind=_KINDS[name])
            continue
        out[name] = Estimate(
            value=float(reps[0]), low=float(lo), high=float(hi), n=n, method="bootstrap-percentile",
            kind=_KINDS[name],
        )
    return out

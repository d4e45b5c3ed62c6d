"""Descriptive metrics of the equality suite, each with its interval and count (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from parity.stats import hamming_similarity, mean_ci
from parity.verdict import Estimate, EstimateKind

from ._decide import CHARS_PER_TOKEN, Decision
from ._samples import Sample, sequence

FIRST_CHARS = 8  # "first token" when tokens are not reported


def _by_prompt(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        out[s.prompt].append(s)
    return out


def _head(s: Sample, tokens: bool) -> object:
    return s.tokens[0] if tokens and s.tokens else s.text[:FIRST_CHARS]


def _pairs(a: Sequence[Sample], b: Sequence[Sample] | None) -> list[tuple[Sample, Sample]]:
    return list(combinations(a, 2)) if b is None else [(x, y) for x in a for y in b]


def agreement(ref: Sequence[Sample], cand: Sequence[Sample] | None, tokens: bool,
              max_tokens: int) -> dict[str, Estimate]:
    """Per prompt, how often two answers start alike and how similar they are (Hamming);
    averaged over prompts with a t-interval. ``cand`` None: the reference with itself."""
    length = max_tokens * (1 if tokens else CHARS_PER_TOKEN)
    refs, cands = _by_prompt(ref), _by_prompt(cand) if cand is not None else None
    first: list[float] = []
    ham: list[float] = []
    for prompt, xs in refs.items():
        ys = None if cands is None else cands.get(prompt)
        if cands is not None and not ys:
            continue
        pairs = _pairs(xs, ys)
        if not pairs:
            continue
        first.append(sum(_head(x, tokens) == _head(y, tokens) for x, y in pairs) / len(pairs))
        ham.append(sum(hamming_similarity(sequence(x, tokens), sequence(y, tokens), length)
                       for x, y in pairs) / len(pairs))
    return {"first_token_agreement": mean_ci(first, kind=EstimateKind.PROPORTION),
            "hamming_similarity": mean_ci(ham)}


def decision_metrics(d: Decision, budget: int) -> dict[str, Estimate]:
    out: dict[str, Estimate] = {}
    mmd = [lk for lk in d.looks if lk.statistic is not None]
    if mmd:
        last = mmd[-1]
        out["mmd2"] = Estimate(value=last.statistic, n=last.n, method="mean per-prompt MMD², Hamming",
                               kind=EstimateKind.STATISTIC)
        out["mmd_p_value"] = Estimate(value=last.p_value, n=last.n, method="within-prompt permutation",
                                      kind=EstimateKind.STATISTIC)
    spent = d.stopped_at if d.stopped_at is not None else (d.looks[-1].n if d.looks else 0)
    out["requests_to_decision"] = Estimate(value=float(spent), n=budget, method="count",
                                           kind=EstimateKind.COUNT)
    if d.tv:
        out["first_token_tv"] = mean_ci(list(d.tv.values()))
        out["first_token_tv_reference"] = mean_ci(list(d.tv_ref.values()))
    return out

"""The tool-call verdict: paired tests against the reference, judged against its own noise.

Six tests, Holm-corrected at alpha (all paired by case unless said otherwise):

1. ``trigger_shift`` -- McNemar exact (two-sided) on the call/no-call decision.
   Valid whatever the reference's own randomness: under H0 the discordant
   pairs split evenly.
2. ``excess_disagreement`` -- does the candidate disagree with the reference
   (run 1) more often than the reference's second run does? One-sided McNemar
   on the paired disagreement indicators: judged against the reference's
   noise, never against 100%.
3. ``prompt_tokens`` -- the same, for ``usage.prompt_tokens``: a faithful
   deployment renders the same messages into the same number of tokens; a
   different chat template, tools that never reach the prompt or a truncated
   context do not (FAILURE-MODES rows 9, 10, 15).
4. ``truncation_shift`` -- McNemar exact (two-sided) on ``finish_reason ==
   'length'``: answers that no longer end where the reference's end
   (degenerate output from broken weights, overridden sampling).
5. ``toolcall_errors`` -- Fisher exact (one-sided, unpaired): share of answers
   with a tool-call error (invalid JSON, unknown name, schema mismatch, markup
   in content, finish_reason inconsistent).
6. ``request_failures`` -- Fisher exact (one-sided, unpaired): share of
   requests that did not return a chat completion.

Fail when any test rejects; pass when none does *and* every effect's 95%
interval lies within the equivalence margin; otherwise inconclusive (too few
cases to tell).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parity.stats import fisher_exact, holm, mcnemar_exact, newcombe_diff, paired_diff, wilson
from parity.verdict import Estimate, Outcome, TestResult

from .observe import TOOLCALL_ERRORS, Observation

TEST_NAME = "Holm(McNemar exact x4, Fisher exact x2)"


@dataclass
class Judgement:
    outcome: Outcome
    tests: list[TestResult]
    effects: dict[str, Estimate]
    reasons: list[str]
    failing_checks: list[str]
    p_value: float | None


def _by_key(obs: Sequence[Observation], repeat: int) -> dict[str, Observation]:
    return {o.key: o for o in obs if o.repeat == repeat}


Pairs = dict[str, tuple[Observation, Observation]]


def _pairs(a: dict[str, Observation], b: dict[str, Observation]) -> Pairs:
    return {k: (a[k], b[k]) for k in a if k in b}


def _discordant(pairs: Pairs, flag: Callable[[Observation], bool]) -> tuple[int, int]:
    """(b, c): pairs where only the first, only the second, has the flag."""
    b = sum(flag(x) and not flag(y) for x, y in pairs.values())
    c = sum(flag(y) and not flag(x) for x, y in pairs.values())
    return b, c


def _excess(
    cand: Pairs, self_pairs: Pairs, differs: Callable[[Observation, Observation], bool]
) -> tuple[int, int, int]:
    """(b, c, n): cases where the candidate differs from the reference and the reference's
    second run does not (b), and the other way round (c)."""
    keys = [k for k in cand if k in self_pairs]
    d_c = [differs(*cand[k]) for k in keys]
    d_r = [differs(*self_pairs[k]) for k in keys]
    b = sum(x and not y for x, y in zip(d_c, d_r, strict=True))
    c = sum(y and not x for x, y in zip(d_c, d_r, strict=True))
    return b, c, len(keys)


def _called_differs(x: Observation, y: Observation) -> bool:
    return x.called != y.called


def _tokens_differ(x: Observation, y: Observation) -> bool:
    return (
        x.prompt_tokens is not None
        and y.prompt_tokens is not None
        and x.prompt_tokens != y.prompt_tokens
    )


def judge(
    cand: Sequence[Observation], ref: Sequence[Observation], alpha: float, margin: float
) -> Judgement:
    c0, r0, r1 = _by_key(cand, 0), _by_key(ref, 0), _by_key(ref, 1)
    pairs, self_pairs = _pairs(c0, r0), _pairs(r1, r0)
    b, c = _discordant(pairs, lambda o: o.called)
    b2, c2, n2 = _excess(pairs, self_pairs, _called_differs)
    b3, c3, n3 = _excess(pairs, self_pairs, _tokens_differ)
    b4, c4 = _discordant(pairs, lambda o: o.ok and o.truncated)
    c_ok, r_ok = [o for o in cand if o.ok], [o for o in ref if o.ok]
    ke, ne, kre, nre = (
        sum(o.has_error for o in c_ok),
        len(c_ok),
        sum(o.has_error for o in r_ok),
        len(r_ok),
    )
    kf, nf, krf, nrf = sum(not o.ok for o in cand), len(cand), sum(not o.ok for o in ref), len(ref)
    effects = {
        "trigger_rate_diff": paired_diff(b, c, len(pairs)),
        "excess_disagreement": paired_diff(b2, c2, n2),
        "excess_prompt_token_mismatch": paired_diff(b3, c3, n3),
        "truncation_rate_diff": paired_diff(b4, c4, len(pairs)),
        "toolcall_error_diff": newcombe_diff(ke, ne, kre, nre),
        "request_failure_diff": newcombe_diff(kf, nf, krf, nrf),
        "reference_self_agreement": wilson(
            sum(not _called_differs(*p) for p in self_pairs.values()), len(self_pairs)
        ),
    }
    raw = [
        ("trigger_shift", mcnemar_exact(b, c), {"b": b, "c": c, "pairs": len(pairs)}),
        ("excess_disagreement", mcnemar_exact(b2, c2, "greater"), {"b": b2, "c": c2, "pairs": n2}),
        ("prompt_tokens", mcnemar_exact(b3, c3, "greater"), {"b": b3, "c": c3, "pairs": n3}),
        ("truncation_shift", mcnemar_exact(b4, c4), {"b": b4, "c": c4, "pairs": len(pairs)}),
        (
            "toolcall_errors",
            fisher_exact(ke, ne, kre, nre, "greater"),
            {"k": ke, "n": ne, "k_ref": kre, "n_ref": nre},
        ),
        (
            "request_failures",
            fisher_exact(kf, nf, krf, nrf, "greater"),
            {"k": kf, "n": nf, "k_ref": krf, "n_ref": nrf},
        ),
    ]
    adjusted, rejected = holm([p for _, p, _ in raw], alpha)
    tests = [
        TestResult(name=name, p_value=p, p_adjusted=adj, rejected=rej, detail=detail)
        for (name, p, detail), adj, rej in zip(raw, adjusted, rejected, strict=True)
    ]
    reasons, failing = _explain(tests, effects, cand, ref, pairs)
    outcome = _outcome(rejected, effects, margin, alpha, reasons)
    return Judgement(outcome, tests, effects, reasons, failing, min(adjusted) if adjusted else None)


def _outcome(
    rejected: list[bool],
    effects: dict[str, Estimate],
    margin: float,
    alpha: float,
    reasons: list[str],
) -> Outcome:
    if any(rejected):
        return Outcome.FAIL
    if _equivalent(effects, margin):
        reasons.append(
            f"no test rejects at alpha={alpha} and every difference's 95% interval "
            f"lies within the margin ±{margin:g}"
        )
        return Outcome.PASS
    reasons.append(
        f"no test rejects at alpha={alpha}, but the 95% intervals are wider than "
        f"the margin ±{margin:g}: more cases or repeats are needed to call it equivalent"
    )
    return Outcome.INCONCLUSIVE


def _equivalent(effects: dict[str, Estimate], margin: float) -> bool:
    two_sided = ("trigger_rate_diff", "truncation_rate_diff")
    one_sided = (
        "excess_disagreement",
        "excess_prompt_token_mismatch",
        "toolcall_error_diff",
        "request_failure_diff",
    )
    for name in (*two_sided, *one_sided):
        e = effects[name]
        if e.low is None or e.high is None:
            return False
        if e.high > margin or (name in two_sided and e.low < -margin):
            return False
    return True


def _token_gap(pairs: Pairs) -> str:
    gaps = sorted(
        x.prompt_tokens - y.prompt_tokens
        for x, y in pairs.values()
        if x.prompt_tokens is not None and y.prompt_tokens is not None
    )
    return f"median difference {gaps[len(gaps) // 2]:+d} tokens" if gaps else "no usage reported"


def _explain(
    tests: list[TestResult],
    effects: dict[str, Estimate],
    cand: Sequence[Observation],
    ref: Sequence[Observation],
    pairs: Pairs,
) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    failing: list[str] = []
    t = {x.name: x for x in tests}
    if t["trigger_shift"].rejected:
        e = effects["trigger_rate_diff"]
        way = "more" if (e.value or 0) > 0 else "less"
        reasons.append(
            f"calls tools {way} often than the reference on the same cases "
            f"(difference {e.fmt()}, p_adj={t['trigger_shift'].p_adjusted:.2g})"
        )
        failing.append("tool_call.trigger_rate")
    if t["excess_disagreement"].rejected:
        reasons.append(
            "disagrees with the reference on whether to call a tool more often than the "
            f"reference disagrees with itself (excess {effects['excess_disagreement'].fmt()})"
        )
        failing.append("tool_call.trigger_disagreement")
    if t["prompt_tokens"].rejected:
        reasons.append(
            "counts different prompt tokens than the reference for the same messages "
            f"({_token_gap(pairs)}; excess mismatch {effects['excess_prompt_token_mismatch'].fmt()}): "
            "the chat template or the tools do not reach the prompt as on the reference"
        )
        failing.append("prompt.token_count")
    if t["truncation_shift"].rejected:
        e = effects["truncation_rate_diff"]
        way = "more" if (e.value or 0) > 0 else "less"
        reasons.append(
            f"runs into max_tokens (finish_reason 'length') {way} often than the reference "
            f"(difference {e.fmt()}): its answers do not end where the reference's do"
        )
        failing.append("finish_reason.length")
    if t["toolcall_errors"].rejected:
        mine = Counter(e for o in cand if o.ok for e in o.errors if e in TOOLCALL_ERRORS)
        theirs = Counter(e for o in ref if o.ok for e in o.errors if e in TOOLCALL_ERRORS)
        worse = sorted((k for k in mine if mine[k] > theirs.get(k, 0)), key=lambda k: -mine[k])
        failing.extend(worse)
        counts = ", ".join(f"{k} x{mine[k]} (reference x{theirs.get(k, 0)})" for k in worse)
        reasons.append(f"more tool-call errors than the reference: {counts}")
    if t["request_failures"].rejected:
        kinds = Counter(o.failure for o in cand if not o.ok)
        failing.extend(f"request.{k}" for k in sorted(kinds, key=lambda k: -kinds[k]) if k)
        reasons.append(
            "more failed requests than the reference: "
            + ", ".join(f"{k} x{v}" for k, v in kinds.most_common())
        )
    return reasons, failing

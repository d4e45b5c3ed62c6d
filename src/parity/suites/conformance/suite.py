"""The conformance suite: does the endpoint honour the API it claims?

Targeted probes, one per client-visible row of FAILURE-MODES.md, each a small
class with a stable dotted name (see ``docs/probes.md``). The whole suite
costs at most ``BUDGET`` requests per endpoint; the reference is sent the
same requests, once, and its own results are shown on its row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from parity.case import Case, dataset_hash
from parity.config import RunSettings
from parity.evidence import ExchangeExcerpt
from parity.exchange import Exchange, requests_spent
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Outcome, ProbeOutcome, ProbeResult, Verdict

from . import (
    _content,
    _finish,
    _params,
    _prompt,
    _reasoning,
    _sampling,
    _stream,
    _toolargs,
    _toolcalls,
    _tools,
)
from ._probe import Probe, Steps

NAME = "conformance"
TEST_NAME = "all probes pass; per-probe exact rules / comparison with reference"
BUDGET = 60  # requests per endpoint, follow-ups included, retries not
_MODULES = (_finish, _params, _stream, _tools, _toolcalls, _toolargs, _sampling, _prompt, _content, _reasoning)


def default_probes() -> list[Probe]:
    return [cls() for module in _MODULES for cls in module.PROBES]


def overall(results: Sequence[ProbeResult]) -> Outcome:
    """FAIL if any probe failed; PASS if every probe passed, is unsupported or is not applicable
    (the reference cannot do it either); else INCONCLUSIVE."""
    outcomes = {r.outcome for r in results}
    if ProbeOutcome.FAIL in outcomes:
        return Outcome.FAIL
    if outcomes <= {ProbeOutcome.PASS, ProbeOutcome.UNSUPPORTED, ProbeOutcome.NOT_APPLICABLE}:
        return Outcome.PASS
    return Outcome.INCONCLUSIVE


@register(NAME)
class ConformanceSuite:
    """Sends every probe's requests to every endpoint, then each probe's follow-ups."""

    name = NAME

    def __init__(self, probes: Sequence[Probe] | None = None, *, only: Sequence[str] | None = None,
                 evidence: int = 2) -> None:
        chosen = list(probes) if probes is not None else default_probes()
        if only:
            chosen = [p for p in chosen if any(p.name == o or p.name.startswith(o + ".") for o in only)]
        if not chosen:
            raise ValueError("no conformance probe selected")
        names = [p.name for p in chosen]
        if len(set(names)) != len(names):
            raise ValueError(f"probe names repeat: {sorted(n for n, k in Counter(names).items() if k > 1)}")
        self.probes = chosen
        self.cases: list[Case] = [c for p in chosen for c in p.cases()]
        _check_unique(self.cases)
        self._hash = dataset_hash(self.cases)
        self._evidence = evidence

    def dataset_hash(self) -> str:
        return self._hash

    def planned(self, role: Role, settings: RunSettings) -> int:
        return sum(p.planned() for p in self.probes)

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        first = await sender.send_all(item for p in self.probes for item in p.sends())
        steps = Steps(first)
        # Built from the answers just stored (or found on resume): the same follow-ups every time.
        follow = [item for p in self.probes for item in p.follow_up_sends(steps)]
        if follow:
            await sender.send_all(follow)

    def judge_endpoint(self, steps: Steps, reference: Steps | None) -> list[ProbeResult]:
        return [p.judge(steps, reference) for p in self.probes]

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        s = ctx.settings
        ref_ex = ctx.exchanges.get(ctx.reference, [])
        families = {e.name: e.declared.family for e in ctx.endpoints}
        ref_steps = Steps(ref_ex, families.get(ctx.reference))
        ref_results = self.judge_endpoint(ref_steps, None)
        out = [Verdict(
            endpoint=ctx.reference, suite=NAME, verdict=Outcome.REFERENCE,
            test="reference: each probe judged on its own rules", alpha=s.alpha,
            requests=requests_spent(ref_ex), probes=ref_results,
            reasons=["the reference deployment; a probe it fails or cannot exercise is not applicable "
                     "for candidates (unless they pass it)", _tally(ref_results, ref_ex)],
        )]
        for ep in ctx.endpoints:
            if ep.name == ctx.reference:
                continue
            exs = ctx.exchanges.get(ep.name, [])
            results = self.judge_endpoint(Steps(exs, ep.declared.family), ref_steps)
            failing = [r.name for r in results if r.outcome is ProbeOutcome.FAIL]
            out.append(Verdict(
                endpoint=ep.name, suite=NAME, verdict=overall(results), test=TEST_NAME,
                alpha=s.alpha, requests=requests_spent(exs), reference_requests=requests_spent(ref_ex),
                probes=results, failing_checks=failing, reasons=_reasons(results, exs),
                evidence=[e.model_copy(update={"probe": r.name}) if isinstance(e, ExchangeExcerpt) else e
                          for r in results if r.name in failing for e in r.evidence[: self._evidence]],
            ))
        return out


def _tally(results: Sequence[ProbeResult], exchanges: Sequence[Exchange]) -> str:
    counts = Counter(r.outcome.value for r in results)
    parts = ", ".join(f"{counts[o.value]} {o.value.replace('_', ' ')}" for o in ProbeOutcome if counts[o.value])
    return (f"{len(results)} probes: {parts}; {len(exchanges)} requests "
            f"({requests_spent(exchanges)} attempts; budget {BUDGET})")


def _reasons(results: Sequence[ProbeResult], exchanges: Sequence[Exchange]) -> list[str]:
    out = [_tally(results, exchanges)]
    for outcome in (ProbeOutcome.FAIL, ProbeOutcome.INCONCLUSIVE, ProbeOutcome.UNSUPPORTED,
                    ProbeOutcome.NOT_APPLICABLE):
        said = outcome.value.replace("_", " ")
        # "X not applicable: not applicable: ..." says it twice: the reason may already start with it
        out += [f"{r.name} {said}: {r.reason.removeprefix(said + ': ')}" for r in results if r.outcome is outcome]
    return out


def _check_unique(cases: Sequence[Case]) -> None:
    """Ids and bodies unique: the store finds an answer by its body, so a shared body
    would silently give two probes one answer."""
    ids: Counter[str] = Counter(c.id for c in cases)
    hashes: Counter[Any] = Counter(c.hash for c in cases)
    dup_ids = [i for i, k in ids.items() if k > 1]
    dup_bodies = [c.id for c in cases if hashes[c.hash] > 1]
    if dup_ids or dup_bodies:
        raise ValueError(f"conformance cases not unique: ids {dup_ids}, bodies {dup_bodies}")

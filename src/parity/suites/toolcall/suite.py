"""The tool-call suite: does this endpoint call tools as the reference does, without errors?"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from parity.case import Case, dataset_hash
from parity.checks import SchemaCache
from parity.config import RunSettings
from parity.evidence import Evidence, excerpt_of
from parity.exchange import Exchange, requests_spent
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Outcome, Verdict

from .judge import TEST_NAME, judge
from .metrics import comparison_metrics, single_metrics
from .observe import TOOLCALL_ERRORS, Observation, findings_for, observe

NAME = "toolcall"


def load_cases(spec: str | None, limit: int | None = None) -> list[Case]:
    """``None``/'builtin', 'builtin-fewshot', a JSONL path (parity or K2VV samples format),
    or 'bfcl:CAT[,CAT...]'."""
    from .dataset import builtin_dataset, load_dataset

    if spec in (None, "builtin"):
        cases = builtin_dataset()
    elif spec == "builtin-fewshot":
        from .fewshot import with_examples

        cases = with_examples(builtin_dataset())
    elif spec.startswith("bfcl:"):
        from .bfcl import load_bfcl

        cases = [c for cat in spec[5:].split(",") if cat for c in load_bfcl(cat.strip(), limit)]
    else:
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"dataset {spec!r}: no such file")
        cases = load_dataset(path)
    return cases[:limit] if limit is not None else cases


@register(NAME)
class ToolcallSuite:
    """Sends every case to every endpoint; the reference at least twice, to measure its noise."""

    name = NAME

    def __init__(
        self,
        cases: Sequence[Case] | None = None,
        *,
        dataset: str | None = None,
        limit: int | None = None,
        max_tokens: int | None = None,
        schema_draft: str = "draft7",
        evidence: int = 5,
    ) -> None:
        cases = list(cases) if cases is not None else load_cases(dataset, limit)
        if max_tokens is not None:
            # A cap for slow endpoints (the CPU testbed): it changes the cases, so their hashes.
            cases = [
                Case(id=c.id, expected=c.expected, tags=c.tags,
                     body={**c.body, "max_tokens": min(max_tokens, int(c.body.get("max_tokens") or max_tokens))})
                for c in cases
            ]
        self.cases = cases
        if not self.cases:
            raise ValueError("the tool-call dataset is empty")
        self._by_hash = {c.hash: c for c in self.cases}
        self.schemas = SchemaCache(schema_draft)
        self._hash = dataset_hash(self.cases)
        self._evidence = evidence

    def dataset_hash(self) -> str:
        return self._hash

    def _repeats(self, role: Role, settings: RunSettings) -> int:
        if role is Role.REFERENCE:
            return max(settings.reference_repeats, settings.repeats)
        return settings.repeats

    def planned(self, role: Role, settings: RunSettings) -> int:
        return len(self.cases) * self._repeats(role, settings)

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        repeats = self._repeats(role, settings)
        await sender.send_all((seeded(c, r, settings.seed), r) for r in range(repeats) for c in self.cases)

    def observations(self, exchanges: Sequence[Exchange], family: str | None = None) -> list[Observation]:
        """One observation per answer; ``family``: the endpoint's declared chat-format family."""
        return [
            observe(self._by_hash[x.case_hash], x, self.schemas, family)
            for x in exchanges
            if x.case_hash in self._by_hash
        ]

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        s = ctx.settings
        ref_ex = ctx.exchanges.get(ctx.reference, [])
        families = {e.name: e.declared.family for e in ctx.endpoints}
        ref = self.observations(ref_ex, families.get(ctx.reference))
        ref_metrics = single_metrics(ref)
        ref_metrics.update(
            comparison_metrics(
                [o for o in ref if o.repeat == 1], [o for o in ref if o.repeat == 0], seed=s.seed
            )
        )
        out = [
            Verdict(
                endpoint=ctx.reference,
                suite=NAME,
                verdict=Outcome.REFERENCE,
                test="reference (run twice: its self-agreement is the noise floor)",
                alpha=s.alpha,
                requests=requests_spent(ref_ex),
                metrics=ref_metrics,
                reasons=["the reference deployment; candidates are judged against it"],
            )
        ]
        for ep in ctx.endpoints:
            if ep.name == ctx.reference:
                continue
            exs = ctx.exchanges.get(ep.name, [])
            cand = self.observations(exs, ep.declared.family)
            j = judge(cand, ref, s.alpha, s.margin)
            metrics = single_metrics(cand)
            metrics.update(comparison_metrics(cand, [o for o in ref if o.repeat == 0], seed=s.seed))
            metrics.update(j.effects)
            out.append(
                Verdict(
                    endpoint=ep.name,
                    suite=NAME,
                    verdict=j.outcome,
                    test=TEST_NAME,
                    p_value=j.p_value,
                    alpha=s.alpha,
                    requests=requests_spent(exs),
                    reference_requests=requests_spent(ref_ex),
                    metrics=metrics,
                    tests=j.tests,
                    reasons=j.reasons,
                    failing_checks=j.failing_checks,
                    evidence=self._evidence_for(exs, j.failing_checks, ep.declared.family),
                )
            )
        return out

    def _evidence_for(
        self, exchanges: Sequence[Exchange], failing: list[str], family: str | None = None
    ) -> list[Evidence]:
        """A few failing answers per failing check, with what was found in them."""
        per_check: dict[str, list[Evidence]] = defaultdict(list)
        for x in exchanges:
            case = self._by_hash.get(x.case_hash)
            if case is None:
                continue
            if not x.ok:
                check = f"request.{x.status.value}"
                if check in failing and len(per_check[check]) < self._evidence:
                    per_check[check].append(excerpt_of(x, x.error or "", check=check))
                continue
            for f in findings_for(case, x, self.schemas, family):
                if (
                    f.check in TOOLCALL_ERRORS
                    and f.check in failing
                    and len(per_check[f.check]) < self._evidence
                ):
                    per_check[f.check].append(excerpt_of(x, f.message, check=f.check))
        return [e for check in failing for e in per_check.get(check, [])]


def seeded(case: Case, repeat: int, run_seed: int) -> Case:
    """The case with a sampling ``seed`` for this repeat, when it samples (temperature > 0).

    Servers that fix their own seed (llama-server --seed) answer identical
    requests identically, so repeats must differ to show sampling noise. The
    seed depends on (run seed, case, repeat) only: every endpoint gets the same
    seed for the same repeat -- common random numbers, which pair the samples.
    The stored key stays the case's own hash.
    """
    if "seed" in case.body or not case.body.get("temperature"):
        return case
    digest = hashlib.sha256(f"{run_seed}:{case.hash}:{repeat}".encode()).digest()
    body = {**case.body, "seed": int.from_bytes(digest[:4], "big") & 0x7FFFFFFF}
    out = Case(id=case.id, body=body, expected=case.expected, tags=case.tags)
    out._hash = case.hash
    return out

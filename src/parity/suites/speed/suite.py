"""The speed suite: streamed requests per input length, under a stated concurrency.

Each request is unique (a nonce opens the prompt, so no prompt cache serves
it) and asks for a long answer capped at ``max_tokens``; answers are streamed
so that time to first token is real. Requests go in waves of ``concurrency``.
Input lengths are sized to the endpoint's context: a length whose prompt and
answer cannot fit the declared ``context_length`` is not sent, and one the
endpoint refuses (every request of its first wave answered 4xx) is not sent
further; both are stated in the verdict. A candidate fails when it is clearly
slower than the reference beyond a stated factor; see ``docs/speed.md``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from parity.case import Case, canonical_json
from parity.config import EndpointConfig, RunSettings
from parity.exchange import Exchange
from parity.suites._base import EvalContext, Role, Sender, register
from parity.verdict import Estimate, Outcome, Verdict

from ._measure import speed_metrics, timings

NAME = "speed"
FILLER = ("The quick brown fox jumps over the lazy dog while the river runs past old stone "
          "walls and quiet fields. ")  # about 20 tokens
TASK = "Now write the numbers from 1 to 100, separated by spaces."
# Input lengths asked for, in filler repetitions (about 20 tokens each): short, medium, long,
# one in each of the buckets ≤128, 129–512 and 513–2048 prompt tokens.
LENGTHS: dict[str, int] = {"short": 1, "medium": 15, "long": 60}
# A prompt's size estimate before sending, generous on purpose (SmolLM2's tokenizer gives about
# 21 tokens a filler; a chat template and a system prompt add up to about 60): a length is
# skipped when this estimate plus max_tokens exceeds the declared context.
TOKENS_PER_FILLER = 22
TOKENS_OVERHEAD = 80
# 29 values are the fewest for which a 95% order-statistic interval of a p90 exists.
PER_LENGTH = 30


def estimated_prompt_tokens(reps: int) -> int:
    return TOKENS_PER_FILLER * reps + TOKENS_OVERHEAD


def _refused(x: Exchange) -> bool:
    return x.http_status is not None and 400 <= x.http_status < 500 and x.http_status != 429


@register(NAME)
class SpeedSuite:
    """TTFT and output tokens/s per input-length bucket, compared with the reference's."""

    name = NAME

    def __init__(self, *, per_length: int = PER_LENGTH, max_tokens: int = 64, concurrency: int = 1,
                 factor: float = 2.0, lengths: dict[str, int] | None = None) -> None:
        if per_length < 1 or max_tokens < 1 or concurrency < 1 or factor <= 1.0:
            raise ValueError("per_length, max_tokens and concurrency must be >= 1 and factor > 1")
        self.per_length, self.max_tokens, self.concurrency, self.factor = (
            per_length, max_tokens, concurrency, factor)
        self.lengths = dict(lengths or LENGTHS)

    def fits(self, endpoint: EndpointConfig) -> dict[str, bool]:
        """Which input lengths fit the endpoint's declared context (all, when none is declared)."""
        limit = endpoint.declared.context_length
        return {name: limit is None or estimated_prompt_tokens(reps) + self.max_tokens <= limit
                for name, reps in self.lengths.items()}

    def cases(self, stream: str, lengths: list[str] | None = None) -> list[Case]:
        out = []
        for name, reps in self.lengths.items():
            if lengths is not None and name not in lengths:
                continue
            for i in range(self.per_length):
                prompt = f"Request {stream}/{name}/{i}.\n{FILLER * reps}\n{TASK}"
                out.append(Case(id=f"{name}#{i}", expected={"length": name}, body={
                    "messages": [{"role": "user", "content": prompt}], "temperature": 0.0,
                    "max_tokens": self.max_tokens, "stream": True,
                    "stream_options": {"include_usage": True}}))
        return out

    def dataset_hash(self) -> str:
        what = {"lengths": self.lengths, "n": self.per_length, "max_tokens": self.max_tokens,
                "concurrency": self.concurrency, "factor": self.factor, "task": TASK}
        return hashlib.sha256(canonical_json(what)).hexdigest()[:32]

    def planned(self, role: Role, settings: RunSettings) -> int | None:
        """Every length: the most that can be sent, before the endpoint is known."""
        return self.per_length * len(self.lengths)

    def planned_for(self, role: Role, settings: RunSettings, endpoint: EndpointConfig) -> int | None:
        """The lengths that fit the endpoint's declared context: what collect() sends, unless
        the endpoint refuses a length (then that length's first wave only; see ``notes``)."""
        return self.per_length * sum(self.fits(endpoint).values())

    async def collect(self, sender: Sender, role: Role, settings: RunSettings) -> None:
        stream = "reference" if role is Role.REFERENCE else sender.endpoint.name
        for name, ok in self.fits(sender.endpoint).items():
            if not ok:
                continue
            cases = self.cases(stream, [name])
            for start in range(0, len(cases), self.concurrency):
                got = await sender.send_all((c, 0) for c in cases[start:start + self.concurrency])
                if start == 0 and got and all(_refused(x) for x in got):
                    break  # the endpoint refuses this length (context): don't spend the rest

    def _conditions(self) -> str:
        return (f"streamed, concurrency {self.concurrency}, max_tokens {self.max_tokens}, "
                f"{self.per_length} requests per input length")

    def notes(self, endpoint: EndpointConfig, exchanges: list[Exchange]) -> list[str]:
        """Input lengths not measured, and why: too long for the declared context, or refused."""
        out = []
        limit = endpoint.declared.context_length
        for name, ok in self.fits(endpoint).items():
            est = estimated_prompt_tokens(self.lengths[name])
            if not ok:
                out.append(f"length {name!r} not sent: about {est} prompt tokens + max_tokens "
                           f"{self.max_tokens} exceed the declared context_length {limit}")
                continue
            mine = [x for x in exchanges if x.case_id.startswith(f"{name}#")]
            if mine and all(_refused(x) for x in mine):
                codes = sorted({str(x.http_status) for x in mine})
                out.append(f"length {name!r} (about {est} prompt tokens) refused by the endpoint "
                           f"(HTTP {', '.join(codes)}, {len(mine)} requests): not measured")
        return out

    def evaluate(self, ctx: EvalContext) -> list[Verdict]:
        ref_m = speed_metrics(timings(ctx.exchanges.get(ctx.reference, [])))
        out = []
        for ep in ctx.endpoints:
            exs = ctx.exchanges.get(ep.name, [])
            metrics = speed_metrics(timings(exs))
            common: dict[str, Any] = {"endpoint": ep.name, "suite": NAME, "alpha": ctx.settings.alpha,
                                      "requests": sum(x.attempts for x in exs), "metrics": metrics}
            notes = self.notes(ep, exs)
            if ep.name == ctx.reference:
                out.append(Verdict(verdict=Outcome.REFERENCE, test=f"measured: {self._conditions()}",
                                   reasons=[self._conditions(), *notes], **common))
                continue
            outcome, reasons = compare(ref_m, metrics, self.factor)
            out.append(Verdict(verdict=outcome, test=f"p50 order-statistic 95% intervals vs the "
                               f"reference's, factor {self.factor:g}", reasons=[*reasons, *notes],
                               failing_checks=["speed.slower_than_reference"]
                               if outcome is Outcome.FAIL else [], **common))
        return out


def _slower(ref: Estimate, cand: Estimate, factor: float, higher_is_faster: bool) -> bool | None:
    """True: clearly slower beyond ``factor``; False: clearly within it; None: can't tell."""
    if None in (ref.low, ref.high, cand.low, cand.high):
        return None
    assert ref.low is not None and ref.high is not None and cand.low is not None and cand.high is not None
    if higher_is_faster:
        if cand.high * factor < ref.low:
            return True
        return False if cand.low * factor >= ref.high else None
    if cand.low > ref.high * factor:
        return True
    return False if cand.high <= ref.low * factor else None


def compare(ref: dict[str, Estimate], cand: dict[str, Estimate], factor: float) -> tuple[Outcome, list[str]]:
    """Per bucket, p50 TTFT and p50 tokens/s against the reference's, by interval separation."""
    keys = [k for k in ref if k.startswith(("ttft_s.p50", "tokens_per_s.p50")) and k in cand]
    if not keys:
        return Outcome.INCONCLUSIVE, ["no streamed timings on both sides to compare"]
    results = {k: _slower(ref[k], cand[k], factor, k.startswith("tokens_per_s")) for k in keys}
    slow = [k for k, v in results.items() if v]
    if slow:
        return Outcome.FAIL, [f"{k}: {cand[k].fmt()} vs reference {ref[k].fmt()} (beyond ×{factor:g})"
                              for k in slow]
    if all(v is False for v in results.values()):
        return Outcome.PASS, [f"every p50 within ×{factor:g} of the reference's ({len(keys)} figures)"]
    return Outcome.INCONCLUSIVE, [f"{sum(v is None for v in results.values())} of {len(keys)} "
                                  f"figures neither clearly within nor beyond ×{factor:g}"]

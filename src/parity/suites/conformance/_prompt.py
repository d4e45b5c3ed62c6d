"""What reaches the model: the chat template (prompt tokens) and the whole context (rows 10, 15)."""

from __future__ import annotations

from parity.case import Case
from parity.exchange import Exchange
from parity.verdict import ProbeResult

from ._data import NEEDLE, long_prompt
from ._probe import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Assessment,
    Probe,
    Steps,
    answer,
    completion,
    excerpt,
    user,
)

NEEDLE_PROBE = "context.needle"
# A truncating server loses hundreds of tokens; a template tweak, a handful.
TRUNCATION_SHARE = 0.95


def prompt_tokens(x: Exchange) -> int | None:
    if x.completion is None or not x.completion.usage:
        return None
    value = x.completion.usage.get("prompt_tokens")
    return value if isinstance(value, int) else None


class TemplateTokens(Probe):
    """Owns one conversation; compares every identical request of the suite with the reference."""

    name = "prompt.template_tokens"
    description = ("usage.prompt_tokens equals the reference's for identical messages (every short "
                   "request of the suite, and a multi-turn conversation)")
    rows = (10,)

    def cases(self) -> list[Case]:
        messages = [{"role": "system", "content": "You are a terse assistant."},
                    user("What is the capital of France?"),
                    {"role": "assistant", "content": "Paris."},
                    user("And of Italy?")]
        return [self.case("conversation", {"messages": messages, "temperature": 0, "max_tokens": 1})]

    def counts(self, steps: Steps) -> dict[tuple[str, str], tuple[int, Exchange]]:
        """(case id, body hash) -> prompt tokens, for first answers of short requests."""
        out: dict[tuple[str, str], tuple[int, Exchange]] = {}
        for x in steps.all():
            pt = prompt_tokens(x) if x.ok and x.repeat == 0 else None
            if pt is not None and not x.case_id.startswith(NEEDLE_PROBE + "/"):
                out[(x.case_id, x.case_hash)] = (pt, x)
        return out

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        mine = self.counts(candidate)
        own = answer(candidate, f"{self.name}/conversation")
        if isinstance(own, Assessment) and not mine:
            return self.result(own, candidate)
        if reference is None:
            outcome = PASS if mine else INCONCLUSIVE
            why = f"prompt_tokens reported for {len(mine)} requests"
            return self.result(Assessment(outcome, why), candidate)
        theirs = self.counts(reference)
        both = sorted(k for k in mine if k in theirs)
        if not both:
            return self.result(Assessment(INCONCLUSIVE, "no request with prompt_tokens on both "
                                          "endpoints"), candidate)
        differ = [k for k in both if mine[k][0] != theirs[k][0]]
        if differ:
            ev = [excerpt(mine[k][1], f"prompt_tokens {mine[k][0]} vs reference {theirs[k][0]}")
                  for k in differ[:4]]
            deltas = sorted({mine[k][0] - theirs[k][0] for k in differ})
            return self.result(Assessment(FAIL, f"{len(differ)} of {len(both)} identical requests "
                                          f"count differently (differences {deltas[:6]}): the chat "
                                          "template or tokenizer differs", ev), candidate)
        return self.result(Assessment(PASS, f"all {len(both)} identical requests count the same"),
                           candidate)


def recalled(x: Exchange) -> bool:
    text = (completion(x).content or "").upper()
    word, number = NEEDLE.split("-")
    return word in text or number in text


class Needle(Probe):
    name = NEEDLE_PROBE
    description = ("a code at the start of a ~1,200-token prompt is recalled at the end, and "
                   "prompt_tokens is not lower than the reference's (no silent truncation)")
    rows = (15,)

    def cases(self) -> list[Case]:
        return [self.case("long", {"messages": [user(long_prompt())], "temperature": 0,
                                   "max_tokens": 24})]

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        x = answer(candidate, f"{self.name}/long")
        if isinstance(x, Assessment):
            return self.result(x, candidate)
        got, pt = recalled(x), prompt_tokens(x)
        summary = f"code {'recalled' if got else 'not recalled'}, prompt_tokens {pt}"
        if reference is None:
            return self.result(Assessment(PASS if got else INCONCLUSIVE, summary), candidate)
        ref = answer(reference, f"{self.name}/long")
        if isinstance(ref, Assessment):
            return self.result(Assessment(INCONCLUSIVE, "no reference answer: " + ref.reason),
                               candidate)
        return self.result(self._compare(x, ref, summary), candidate)

    def _compare(self, x: Exchange, ref: Exchange, summary: str) -> Assessment:
        pt, ref_pt, ref_got = prompt_tokens(x), prompt_tokens(ref), recalled(ref)
        summary += f"; the reference: {'recalled' if ref_got else 'not recalled'}, {ref_pt}"
        ev = [excerpt(x), excerpt(ref, "reference")]
        if pt is not None and ref_pt is not None and pt < TRUNCATION_SHARE * ref_pt:
            return Assessment(FAIL, summary + ": the context was truncated", ev)
        if ref_got and not recalled(x):
            return Assessment(FAIL, summary + ": the start of the prompt was lost", ev)
        if pt is None or ref_pt is None:
            outcome = PASS if ref_got else INCONCLUSIVE
            return Assessment(outcome, summary + " (no prompt_tokens to compare)", ev)
        return Assessment(PASS, summary)


PROBES: tuple[type[Probe], ...] = (TemplateTokens, Needle)

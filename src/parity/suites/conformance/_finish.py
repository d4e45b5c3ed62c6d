"""finish_reason and max_tokens: the invariants every answer must keep (FAILURE-MODES row 5, 18)."""

from __future__ import annotations

from parity.case import Case
from parity.checks.conformance import check_finish_invariants, check_max_tokens

from ._data import PLAIN_QUESTION, STORY
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
    must,
    user,
)


class MaxTokensLength(Probe):
    name = "finish_reason.max_tokens_length"
    description = "max_tokens: 1 on a prompt that wants a long answer ends with finish_reason 'length'"
    rows = (5,)

    def cases(self) -> list[Case]:
        return [self.case("one", {"messages": [user(STORY)], "max_tokens": 1, "temperature": 0})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/one"))
        findings = check_max_tokens(completion(x), 1)
        if findings:
            return Assessment(FAIL, "; ".join(f.message for f in findings), [excerpt(x)])
        return Assessment(PASS, f"finish_reason {completion(x).finish_reason!r} at max_tokens=1")


class MaxTokensHonoured(Probe):
    name = "params.max_tokens"
    description = "max_tokens: 8 yields at most 8 completion tokens, cut off with 'length'"
    rows = (18,)

    def cases(self) -> list[Case]:
        return [self.case("eight", {"messages": [user(PLAIN_QUESTION)], "max_tokens": 8,
                                    "temperature": 0})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/eight"))
        c = completion(x)
        findings = check_max_tokens(c, 8)
        if findings:
            return Assessment(FAIL, "; ".join(f.message for f in findings), [excerpt(x)])
        if c.usage is None:
            return Assessment(INCONCLUSIVE, "no usage to count the tokens by", [excerpt(x)])
        return Assessment(PASS, f"{(c.usage or {}).get('completion_tokens')} completion tokens, "
                                f"finish_reason {c.finish_reason!r}")


class FinishConsistent(Probe):
    """Cross-cutting: every answer of the suite, whatever it was asked."""

    name = "finish_reason.consistent"
    description = ("every answer has a finish_reason, 'tool_calls' exactly when it carries "
                   "tool calls (scans all answers of the suite)")
    rows = (4, 5)

    def assess(self, steps: Steps) -> Assessment:
        answers = [x for x in steps.all() if x.ok]
        bad = [(x, f) for x in answers for f in check_finish_invariants(completion(x))]
        if not answers:
            return Assessment(INCONCLUSIVE, "no successful answer to check")
        if bad:
            cases = sorted({x.case_id for x, _ in bad})
            return Assessment(FAIL, f"{len(bad)} of {len(answers)} answers break the invariant "
                              f"({bad[0][1].message}); cases: {', '.join(cases[:5])}",
                              [excerpt(x, f.message) for x, f in bad[:4]])
        return Assessment(PASS, f"all {len(answers)} answers consistent")


PROBES: tuple[type[Probe], ...] = (MaxTokensLength, MaxTokensHonoured, FinishConsistent)

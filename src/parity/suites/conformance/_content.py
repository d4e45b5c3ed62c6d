"""What the text itself shows: foreign scripts, leaked control tokens and tool-call markup
(rows 4, 16). Both scan every greedy answer of the suite, paired with the reference's."""

from __future__ import annotations

from parity.case import Case
from parity.checks import Finding, check_markup, load_arguments, tool_index
from parity.checks.text import check_foreign_script, check_special_tokens
from parity.exchange import Exchange
from parity.verdict import ProbeResult

from ._probe import (
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Assessment,
    Probe,
    Steps,
    completion,
    excerpt,
    temperature,
    user,
)

# Sampled answers are not comparable with the reference's one by one.
MAX_TEMPERATURE = 0.3


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def prompt_text(x: Exchange) -> str:
    return "\n".join(s for m in x.request.get("messages") or [] for s in _strings(m.get("content")))


class _Scan(Probe):
    """Findings per greedy answer; the candidate fails on answers the reference's twin lacks."""

    def findings(self, x: Exchange, family: str | None = None) -> list[Finding]:
        """What is wrong with one answer; ``family``: the endpoint's declared family."""
        raise NotImplementedError

    def flagged(
        self, steps: Steps
    ) -> tuple[dict[tuple[str, int], list[Finding]], dict[tuple[str, int], Exchange], int]:
        found: dict[tuple[str, int], list[Finding]] = {}
        where: dict[tuple[str, int], Exchange] = {}
        scanned = 0
        for x in steps.all():
            t = temperature(x)
            if not x.ok or t is None or t > MAX_TEMPERATURE:
                continue
            scanned += 1
            fs = self.findings(x, steps.family)
            if fs:
                found[(x.case_id, x.repeat)] = fs
                where[(x.case_id, x.repeat)] = x
        return found, where, scanned

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        found, where, scanned = self.flagged(candidate)
        ref = self.flagged(reference)[0] if reference is not None else {}
        excess = [k for k in sorted(found) if k not in ref]
        if scanned == 0:
            return self.result(Assessment(INCONCLUSIVE, "no greedy answer to scan"), candidate)
        if excess:
            first = found[excess[0]][0]
            ev = [excerpt(where[k], found[k][0].message) for k in excess[:4]]
            return self.result(Assessment(FAIL, f"{len(excess)} of {scanned} answers: "
                                          f"{first.message}", ev), candidate)
        if found:
            return self.result(Assessment(NOT_APPLICABLE, f"not applicable: {len(found)} answer(s) "
                                          "flagged, each also flagged from the reference"), candidate)
        return self.result(Assessment(PASS, f"{scanned} answers clean"), candidate)


class ForeignScript(_Scan):
    name = "content.foreign_script"
    description = ("no run of letters from a script the prompt does not use (Thai or Chinese in "
                   "English answers), in content or tool-call arguments")
    rows = (16,)

    def cases(self) -> list[Case]:
        return [self.case("english", {"messages": [user("Describe a sunny morning in a small "
                                                         "English village.")],
                                      "temperature": 0, "max_tokens": 64})]

    def findings(self, x: Exchange, family: str | None = None) -> list[Finding]:
        c = completion(x)
        texts = [c.content or "", *(s for t in c.tool_calls for s in _argument_strings(t.arguments))]
        return check_foreign_script("\n".join(texts), prompt_text(x))


def _argument_strings(arguments: str) -> list[str]:
    value, error = load_arguments(arguments)
    return [arguments] if error is not None else _strings(value)


class LeakedMarkup(_Scan):
    name = "content.leaked_markup"
    description = ("no raw tool-call text of any registered family (<tool_call>, [TOOL_CALLS], DSML, "
                   "Harmony, Gemma 4, pythonic...) or special tokens (<|im_end|>, </s>, ...) left in "
                   "content or reasoning_content")
    rows = (4, 16)

    def findings(self, x: Exchange, family: str | None = None) -> list[Finding]:
        c = completion(x)
        tools = tool_index(x.request.get("tools") or [])
        return [*check_markup(c, tools or None, family), *check_special_tokens(c.content or "")]


PROBES: tuple[type[Probe], ...] = (ForeignScript, LeakedMarkup)

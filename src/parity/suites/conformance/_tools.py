"""tool_choice semantics and whether the tools reach the prompt at all (rows 8, 9)."""

from __future__ import annotations

from typing import Any, ClassVar

from parity.case import Case
from parity.checks.conformance import check_tool_choice
from parity.verdict import ProbeResult

from ._data import NEEDS_TOOL, SYSTEM_TOOLS, TOOLS
from ._probe import (
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    UNSUPPORTED,
    Assessment,
    Probe,
    Steps,
    answer,
    completion,
    excerpt,
    must,
    unusable,
    user,
)


def _tool_body(question: str, tools: list[dict[str, Any]], choice: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "system", "content": SYSTEM_TOOLS}, user(question)],
                            "tools": tools, "temperature": 0, "max_tokens": 96}
    if choice is not None:
        body["tool_choice"] = choice
    return body


class _ChoiceProbe(Probe):
    """One request under one ``tool_choice``; the semantics must hold exactly."""

    choice: ClassVar[Any] = None
    question: ClassVar[str] = ""

    def cases(self) -> list[Case]:
        return [self.case("ask", _tool_body(self.question, TOOLS, self.choice))]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/ask"))
        findings = check_tool_choice(self.choice, completion(x))
        if findings:
            return Assessment(FAIL, findings[0].message, [excerpt(x)])
        names = [t.name for t in completion(x).tool_calls]
        return Assessment(PASS, f"honoured (called {names})")


class ToolChoiceNone(_ChoiceProbe):
    name = "tool_choice.none"
    description = "tool_choice 'none' on a question that needs a tool: no tool call"
    rows = (8,)
    choice = "none"
    question = "What is the weather in Madrid right now?"


class ToolChoiceRequired(_ChoiceProbe):
    name = "tool_choice.required"
    description = "tool_choice 'required' on small talk: a tool call all the same"
    rows = (8,)
    choice = "required"
    question = "Hello! How are you today?"


class ToolChoiceNamed(_ChoiceProbe):
    name = "tool_choice.named"
    description = "tool_choice naming get_stock_price on a weather question: that function only"
    rows = (8,)
    choice: ClassVar[Any] = {"type": "function", "function": {"name": "get_stock_price"}}
    question = "What is the weather in Rome right now?"


class ToolsReachPrompt(Probe):
    """Compared with the reference: a tiny model calls tools unreliably."""

    name = "tools.reach_prompt"
    description = ("questions only a tool can answer, default tool_choice: the endpoint calls "
                   "the tool about as often as the reference does")
    rows = (9,)

    def cases(self) -> list[Case]:
        return [self.case(key, _tool_body(q, [tool])) for key, q, tool in NEEDS_TOOL]

    def calls(self, steps: Steps) -> tuple[int, int, list[Assessment]]:
        """(answers that called a tool, answers, why the others were unusable)."""
        called = usable = 0
        problems: list[Assessment] = []
        for key, _, _ in NEEDS_TOOL:
            x = steps.get(f"{self.name}/{key}")
            bad = unusable(x, key)
            if bad is not None or x is None:
                problems.append(bad or Assessment(INCONCLUSIVE, "no answer"))
                continue
            usable += 1
            called += bool(completion(x).tool_calls)
        return called, usable, problems

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        c, n, problems = self.calls(candidate)
        evidence = [excerpt(x) for x in candidate.owned(self.name)][:4]
        if n == 0:
            first = problems[0] if problems else Assessment(INCONCLUSIVE, "no answer")
            return self.result(Assessment(first.outcome, first.reason, first.evidence), candidate)
        if reference is None:
            outcome = PASS if c else INCONCLUSIVE
            why = f"called the tool in {c}/{n} answers"
            return self.result(Assessment(outcome, why, evidence), candidate)
        r, rn, _ = self.calls(reference)
        why = f"called the tool in {c}/{n} answers; the reference in {r}/{rn}"
        if r == 0 and c == 0:
            outcome = NOT_APPLICABLE
            why += " (not applicable: the reference shows no calls, so nothing to compare)"
        elif r == 0:
            outcome = PASS  # calls the reference did not make are not the tools missing from the prompt
        elif c >= max(1, r - 1):
            outcome = PASS
        elif c == 0 and r == 1:
            outcome = INCONCLUSIVE
        else:
            outcome = FAIL
            why += ": the tools may not reach the model's prompt"
        return self.result(Assessment(outcome, why, evidence), candidate)


class ToolChoiceAuto(Probe):
    name = "tool_choice.auto"
    description = ("tool_choice 'auto' spelled out decides (call or not) as the default does "
                   "for the same request")
    rows = (8,)
    KEY, QUESTION, TOOL = NEEDS_TOOL[0]

    def cases(self) -> list[Case]:
        return [self.case("explicit", _tool_body(self.QUESTION, [self.TOOL], "auto"))]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/explicit"))
        default = answer(steps, f"{ToolsReachPrompt.name}/{self.KEY}")
        if isinstance(default, Assessment):
            return Assessment(INCONCLUSIVE if default.outcome is not UNSUPPORTED else UNSUPPORTED,
                              f"the default-tool_choice answer is missing: {default.reason}")
        auto, dflt = bool(completion(x).tool_calls), bool(completion(default).tool_calls)
        if auto != dflt:
            return Assessment(FAIL, f"'auto' {'called' if auto else 'did not call'} the tool, the "
                              f"default {'did' if dflt else 'did not'}", [excerpt(x), excerpt(default)])
        return Assessment(PASS, f"same decision as the default ({'call' if auto else 'no call'})")


PROBES: tuple[type[Probe], ...] = (ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired,
                                   ToolChoiceNamed, ToolsReachPrompt)

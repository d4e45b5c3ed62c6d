"""Tool calls themselves: well formed, with usable ids, parallel when asked (rows 1-3, 7, 11)."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from parity.case import Case
from parity.checks import SchemaCache, check_call, tool_index
from parity.checks.conformance import check_tool_call_ids
from parity.exchange import Exchange
from parity.verdict import ProbeResult

from ._data import PARALLEL, SYSTEM_TOOLS, TOOLS, WEATHER
from ._probe import (
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
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

TOOL_RESULT = '{"temperature_c": 18, "sky": "sunny"}'


class RoundTrip(Probe):
    name = "tool_call.round_trip"
    description = ("tool-call ids are present, well formed and unique; echoing them back with a "
                   "tool result gives a second turn that succeeds")
    rows = (11,)
    max_follow_ups = 1
    _FIRST: ClassVar[dict[str, Any]] = {"messages": [{"role": "system", "content": SYSTEM_TOOLS},
                           user("What is the weather in Berlin right now?")],
              "tools": [WEATHER], "tool_choice": "required", "temperature": 0, "max_tokens": 96}

    def cases(self) -> list[Case]:
        return [self.case("first", dict(self._FIRST))]

    def follow_ups(self, first: Steps) -> list[Case]:
        x = first.get(f"{self.name}/first")
        if x is None or not x.ok or not completion(x).tool_calls:
            return []
        calls = completion(x).tool_calls
        assistant = {"role": "assistant", "content": "", "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls]}
        results = [{"role": "tool", "tool_call_id": c.id, "content": TOOL_RESULT} for c in calls]
        messages = [*self._FIRST["messages"], assistant, *results]
        return [self.case("second", {"messages": messages, "tools": [WEATHER],
                                     "temperature": 0, "max_tokens": 64})]

    def assess(self, steps: Steps) -> Assessment:
        first = must(answer(steps, f"{self.name}/first"))
        calls = completion(first).tool_calls
        if not calls:
            return Assessment(INCONCLUSIVE, "no tool call in the first turn, nothing to echo back",
                              [excerpt(first)], exercised=False)
        findings = check_tool_call_ids(calls)
        if findings:
            return Assessment(FAIL, findings[0].message, [excerpt(first)])
        second = steps.get(f"{self.name}/second")
        if second is None:
            return Assessment(INCONCLUSIVE, "the second turn was not sent")
        if not second.ok:
            # A rejection here is the failure this probe looks for: its own ids refused.
            return Assessment(FAIL, f"second turn failed: {second.error}", [excerpt(first), excerpt(second)])
        c = completion(second)
        if not (c.content or "").strip() and not c.tool_calls:
            return Assessment(FAIL, "second turn came back empty", [excerpt(first), excerpt(second)])
        return Assessment(PASS, f"ids {[t.id for t in calls]} accepted back; second turn answered")


class Parallel(Probe):
    """Compared with the reference: the same number of calls, to the same functions."""

    name = "tool_call.parallel"
    description = ("a request needing two calls (parallel_tool_calls: true) gets as many calls, to "
                   "the same functions, as the reference makes")
    rows = (7,)

    def cases(self) -> list[Case]:
        return [self.case(key, {"messages": [{"role": "system", "content": SYSTEM_TOOLS}, user(q)],
                                "tools": TOOLS, "parallel_tool_calls": True,
                                "temperature": 0, "max_tokens": 160})
                for key, q in PARALLEL]

    def _names(self, steps: Steps) -> dict[str, Counter[str | None]] | Assessment:
        out: dict[str, Counter[str | None]] = {}
        for key, _ in PARALLEL:
            x = answer(steps, f"{self.name}/{key}")
            if isinstance(x, Assessment):
                return x
            out[key] = Counter(t.name for t in completion(x).tool_calls)
        return out

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        mine = self._names(candidate)
        evidence = [excerpt(x) for x in candidate.owned(self.name)]
        if isinstance(mine, Assessment):
            return self.result(mine, candidate)
        multi = [k for k, names in mine.items() if sum(names.values()) >= 2]
        if reference is None:
            outcome = PASS if multi else INCONCLUSIVE
            return self.result(Assessment(outcome, f"{len(multi)}/{len(mine)} requests got two or "
                                          "more calls", evidence), candidate)
        theirs = self._names(reference)
        if isinstance(theirs, Assessment):
            return self.result(Assessment(INCONCLUSIVE, "the reference's answers are unusable: "
                                          + theirs.reason, evidence), candidate)
        shown = [k for k, names in theirs.items() if sum(names.values()) >= 2]
        if not shown:
            return self.result(Assessment(NOT_APPLICABLE, "not applicable: the reference made no "
                                          "parallel calls", evidence), candidate)
        wrong = [f"{k}: {dict(mine[k])} vs reference {dict(theirs[k])}" for k in shown
                 if mine[k] != theirs[k]]
        if wrong:
            return self.result(Assessment(FAIL, "calls mis-split or merged: " + "; ".join(wrong),
                                          evidence), candidate)
        return self.result(Assessment(PASS, f"same calls as the reference on {shown}"), candidate)


class WellFormed(Probe):
    """Cross-cutting: every tool call in every answer of the suite, paired with the reference."""

    name = "tool_call.well_formed"
    description = ("every tool call of the suite parses as JSON, names an offered tool and matches "
                   "its schema (errors the reference shows on the same request excepted)")
    rows = (1, 2, 3)

    def __init__(self, schemas: SchemaCache | None = None) -> None:
        self.schemas = schemas or SchemaCache()

    def errors(self, steps: Steps) -> tuple[dict[tuple[str, int], set[str]], dict[Any, Exchange], int]:
        """Error classes per (case, repeat); an exchange per error class; calls checked."""
        flagged: dict[tuple[str, int], set[str]] = {}
        example: dict[Any, Exchange] = {}
        n = 0
        for x in steps.all():
            if unusable(x) is not None:
                continue
            tools = tool_index(x.request.get("tools") or [])
            for call in completion(x).tool_calls:
                n += 1
                for f in check_call(call, tools, self.schemas):
                    flagged.setdefault((x.case_id, x.repeat), set()).add(f.check)
                    example.setdefault((x.case_id, x.repeat, f.check), x)
        return flagged, example, n

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        flagged, example, n = self.errors(candidate)
        ref, _, ref_n = self.errors(reference) if reference is not None else ({}, {}, -1)
        excess = sorted((key, cls) for key, classes in flagged.items()
                        for cls in classes - ref.get(key, set()))
        if n == 0 and ref_n == 0:
            return self.result(Assessment(NOT_APPLICABLE, "not applicable: no tool calls to check, from the "
                                          "reference either"), candidate)
        if n == 0:
            return self.result(Assessment(INCONCLUSIVE, "no tool calls to check"), candidate)
        evidence = [excerpt(example[(*key, cls)], check=cls) for key, cls in excess[:4]]
        if excess:
            classes = sorted({cls for _, cls in excess})
            return self.result(Assessment(FAIL, f"{len(excess)} malformed call(s) of {n}: "
                                          f"{', '.join(classes)}", evidence), candidate)
        if flagged:
            return self.result(Assessment(NOT_APPLICABLE, f"not applicable: {len(flagged)} answer(s) "
                                          "with malformed calls, each also malformed from the reference"),
                               candidate)
        return self.result(Assessment(PASS, f"all {n} tool calls well formed"), candidate)


PROBES: tuple[type[Probe], ...] = (RoundTrip, Parallel, WellFormed)

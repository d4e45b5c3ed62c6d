"""Reasoning (rows 12, 21): present when thinking is on and absent when off, never in
``content``, accepted and used when echoed back in a tool loop.

Thinking is switched the ways engines accept: ``reasoning_effort`` (OpenAI,
vLLM, SGLang, llama.cpp) and ``chat_template_kwargs`` (``enable_thinking``
for Qwen3/GLM/DeepSeek templates, ``thinking`` for Kimi's). An endpoint that
rejects them is ``unsupported``; a model that never reasons cannot exercise
these probes (see ``_capability``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from parity.case import Case
from parity.checks import (
    Finding,
    SchemaCache,
    check_call,
    check_markup,
    check_reasoning_delimiters,
    tool_index,
)
from parity.exchange import Exchange

from ._capability import CapabilityProbe, missing
from ._content import _Scan
from ._data import SYSTEM_TOOLS, WEATHER
from ._probe import (
    FAIL,
    PASS,
    UNSUPPORTED,
    Assessment,
    Steps,
    answer,
    completion,
    excerpt,
    must,
    user,
)

CODEWORD = "TANGERINE-5521"
QUESTION = "A train leaves at 14:05 and arrives at 16:50. How long is the journey? Think it through."


def _switch(on: bool) -> dict[str, Any]:
    return {"reasoning_effort": "high" if on else "low",
            "chat_template_kwargs": {"enable_thinking": on, "thinking": on}}


def _reasoning(x: Exchange) -> str:
    return (completion(x).reasoning_content or "").strip()


class ReasoningDelimiters(_Scan):
    name = "content.reasoning_delimiters"
    description = ("no reasoning delimiters of any family (<think>, </think>, Harmony's "
                   "<|channel|>analysis, Gemma's <|channel>, [THINK]) in content or reasoning_content")
    rows = (21,)

    def findings(self, x: Exchange, family: str | None = None) -> list[Finding]:
        return check_reasoning_delimiters(completion(x), family)


class ReasoningSwitch(CapabilityProbe):
    name = "reasoning.switch"
    description = ("reasoning_content present when thinking is switched on, absent when switched off "
                   "(reasoning_effort, chat_template_kwargs)")
    rows = (12, 21)

    def cases(self) -> list[Case]:
        body = {"messages": [user(QUESTION)], "temperature": 0, "max_tokens": 256}
        return [self.case("on", {**body, **_switch(True)}), self.case("off", {**body, **_switch(False)})]

    def assess(self, steps: Steps) -> Assessment:
        on = must(answer(steps, f"{self.name}/on"))
        if not _reasoning(on):
            return missing("no reasoning_content with thinking switched on", [excerpt(on)])
        off = must(answer(steps, f"{self.name}/off"))
        if _reasoning(off):
            return Assessment(FAIL, "reasoning_content present with thinking switched off: the switch "
                              "is ignored", [excerpt(off)])
        return Assessment(PASS, f"{len(_reasoning(on))} characters of reasoning when on, none when off")


class ReasoningEcho(CapabilityProbe):
    """One request: a tool loop whose earlier assistant turn carries reasoning, echoed back."""

    name = "reasoning.echo"
    description = ("a tool loop that echoes reasoning_content back is accepted and answered, and a "
                   "codeword found only in the echoed reasoning is used")
    rows = (12,)
    _CALL: ClassVar[dict[str, Any]] = {"id": "call12345", "type": "function",
                                       "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'}}

    def cases(self) -> list[Case]:
        messages = [
            {"role": "system", "content": SYSTEM_TOOLS},
            user("What is the weather in Lima? When you answer, also give the codeword you "
                 "chose while thinking."),
            {"role": "assistant", "content": "", "tool_calls": [self._CALL],
             "reasoning_content": f"I will look up Lima. The codeword I choose is {CODEWORD}; "
                                  "I must repeat it in my answer."},
            {"role": "tool", "tool_call_id": "call12345", "content": '{"temperature_c": 17, "sky": "cloudy"}'},
        ]
        return [self.case("loop", {"messages": messages, "tools": [WEATHER], "temperature": 0,
                                   "max_tokens": 160, **_switch(True)})]

    def assess(self, steps: Steps) -> Assessment:
        x = answer(steps, f"{self.name}/loop")
        if isinstance(x, Assessment):
            if x.outcome is UNSUPPORTED:  # a refusal of the echoed turn is the failure looked for
                return Assessment(FAIL, f"the turn with echoed reasoning was refused: {x.reason}", x.evidence)
            return x
        c = completion(x)
        text = f"{c.reasoning_content or ''}\n{c.content or ''}"
        if not text.strip() and not c.tool_calls:
            return Assessment(FAIL, "the loop with echoed reasoning came back empty", [excerpt(x)])
        if CODEWORD not in text:
            return missing("the codeword from the echoed reasoning is not used", [excerpt(x)])
        return Assessment(PASS, "echoed reasoning accepted, and its codeword used")


class ReasoningThenCall(CapabilityProbe):
    name = "reasoning.then_call"
    description = ("with thinking on and a call required, the reasoning comes back in reasoning_content "
                   "and the call as a well-formed tool call (no call text in the reasoning)")
    rows = (12, 21, 22)

    def cases(self) -> list[Case]:
        return [self.case("call", {"messages": [{"role": "system", "content": SYSTEM_TOOLS},
                                                user("Think about which city is meant, then get the "
                                                     "weather in the capital of France.")],
                                   "tools": [WEATHER], "tool_choice": "required", "temperature": 0,
                                   "max_tokens": 320, **_switch(True)})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/call"))
        c = completion(x)
        if not (c.reasoning_content or "").strip():
            return missing("no reasoning_content with thinking switched on", [excerpt(x)])
        leaked = check_markup(c, {"get_weather"}, steps.family) + check_reasoning_delimiters(c, steps.family)
        if leaked:
            return Assessment(FAIL, leaked[0].message, [excerpt(x)])
        if not c.tool_calls:
            return missing("no tool call after the reasoning", [excerpt(x)])
        bad = [f.message for t in c.tool_calls for f in check_call(t, tool_index([WEATHER]), _SCHEMAS)]
        if bad:
            return Assessment(FAIL, bad[0], [excerpt(x)])
        return Assessment(PASS, f"reasoning, then {len(c.tool_calls)} well-formed call(s)")


_SCHEMAS = SchemaCache()
PROBES = (ReasoningDelimiters, ReasoningSwitch, ReasoningEcho, ReasoningThenCall)

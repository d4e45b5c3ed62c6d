"""Tool-call arguments users rely on (rows 1, 3, 6): a tool with no parameters, and unicode,
deeply nested arguments -- each asked whole and streamed, each call well formed, valid
against its schema and the same in both, compared with the reference."""

from __future__ import annotations

from typing import Any, ClassVar

from parity.case import Case
from parity.checks import SchemaCache, check_call, tool_index
from parity.exchange import Exchange

from ._capability import CapabilityProbe, missing
from ._data import PARALLEL, SYSTEM_TOOLS, TOOLS
from ._probe import FAIL, PASS, Assessment, Steps, answer, completion, excerpt, must, user
from ._stream import STREAM_OPTIONS, get_pair, pair

CLOCK: dict[str, Any] = {"type": "function", "function": {
    "name": "get_utc_time", "description": "The current UTC time. Takes no arguments.",
    "parameters": {"type": "object", "properties": {}}}}
BOOKING: dict[str, Any] = {"type": "function", "function": {
    "name": "book_trip", "description": "Book a trip for a traveller.",
    "parameters": {"type": "object", "required": ["traveller", "legs"], "properties": {
        "traveller": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {
                "city": {"type": "string"}, "country": {"type": "string"}}}}},
        "legs": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["from", "to"],
                 "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}}}}}}


class _ArgsProbe(CapabilityProbe):
    tool: ClassVar[dict[str, Any]]
    question: ClassVar[str]
    schemas = SchemaCache()

    def cases(self) -> list[Case]:
        body = {"messages": [{"role": "system", "content": SYSTEM_TOOLS}, user(self.question)],
                "tools": [self.tool], "tool_choice": "required", "temperature": 0, "max_tokens": 160}
        return pair(self, "call", body)

    def _problems(self, x: Exchange) -> list[str]:
        index = tool_index([self.tool])
        return [f.message for call in completion(x).tool_calls for f in check_call(call, index, self.schemas)]

    def check(self, plain: Exchange, streamed: Exchange) -> Assessment | None:
        """Anything beyond well-formedness a subclass wants of the pair."""
        return None

    def assess(self, steps: Steps) -> Assessment:
        got = must(get_pair(steps, self.name, "call"))
        plain, streamed = got
        if not completion(plain).tool_calls:
            return missing("the model made no call (tool_choice 'required')", [excerpt(plain)])
        for x, how in ((plain, "whole"), (streamed, "streamed")):
            problems = self._problems(x)
            if problems:
                return Assessment(FAIL, f"{how}: {problems[0]}", [excerpt(x)])
        # Both must be valid; whether they are *equal* is stream.tool_calls_equivalent's question,
        # which tells a lost delta from a greedy decode that went another way.
        n = len(completion(plain).tool_calls)
        return self.check(plain, streamed) or Assessment(PASS, f"{n} call(s), valid whole and streamed")


class NoArguments(_ArgsProbe):
    name = "tool_call.no_arguments"
    description = ("a call to a tool without parameters comes back with arguments that parse to an "
                   "object valid for it (an empty string counts as {}), whole and streamed")
    rows = (1, 6)
    tool = CLOCK
    question = "What time is it in UTC right now? Use the tool."


class UnicodeNested(_ArgsProbe):
    name = "tool_call.unicode_nested"
    description = ("a call with non-ASCII text and nested objects and arrays keeps them intact and "
                   "valid against the schema, whole and streamed")
    rows = (1, 3, 6)
    tool = BOOKING
    question = ("Book a trip for Zoë Ångström, who lives in Zürich, Switzerland: "
                "from Zürich to 東京, then from 東京 to São Paulo.")




class ParallelStreamed(CapabilityProbe):
    """The requests of ``tool_call.parallel``, streamed: the same calls as the whole answers."""

    name = "tool_call.parallel_streamed"
    description = ("a request needing two calls, streamed, reassembles to as many calls, to the same "
                   "functions, as the whole answer to it")
    rows = (6, 7)

    def cases(self) -> list[Case]:
        return [self.case(key, {"messages": [{"role": "system", "content": SYSTEM_TOOLS}, user(q)],
                                "tools": TOOLS, "parallel_tool_calls": True, "temperature": 0,
                                "max_tokens": 160, "stream": True, **STREAM_OPTIONS})
                for key, q in PARALLEL]

    def assess(self, steps: Steps) -> Assessment:
        compared = 0
        for key, _ in PARALLEL:
            whole = must(answer(steps, f"tool_call.parallel/{key}"))
            streamed = must(answer(steps, f"{self.name}/{key}"))
            a = sorted(str(c.name) for c in completion(whole).tool_calls)
            if len(a) < 2:
                continue
            compared += 1
            b = sorted(str(c.name) for c in completion(streamed).tool_calls)
            if a != b:
                return Assessment(FAIL, f"{key}: streamed calls {b} vs whole {a}", [excerpt(whole), excerpt(streamed)])
        if not compared:
            return missing("no request got two or more calls to stream")
        return Assessment(PASS, f"{compared} parallel answer(s) the same streamed")


PROBES = (NoArguments, UnicodeNested, ParallelStreamed)

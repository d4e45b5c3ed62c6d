"""Streamed vs non-streamed: the same answer, the same tool calls, the same usage (rows 6, 19)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.case import Case
from parity.checks import check_markup, parse_arguments
from parity.checks.conformance import call_signature, check_usage
from parity.checks.text import text_change
from parity.evidence import ExchangeExcerpt
from parity.exchange import Completion, Exchange

from ._data import NEEDS_TOOL, SYSTEM_TOOLS, TOOLS
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

STREAM_OPTIONS = {"stream_options": {"include_usage": True}}


def pair(probe: Probe, key: str, body: dict[str, Any]) -> list[Case]:
    """The same body sent whole and streamed (usage asked for in the stream)."""
    return [probe.case(f"{key}.plain", body),
            probe.case(f"{key}.stream", {**body, "stream": True, **STREAM_OPTIONS})]


def get_pair(steps: Steps, probe: str, key: str) -> tuple[Exchange, Exchange] | Assessment:
    plain = answer(steps, f"{probe}/{key}.plain")
    if isinstance(plain, Assessment):
        return plain
    streamed = answer(steps, f"{probe}/{key}.stream")
    if isinstance(streamed, Assessment):
        return streamed
    return plain, streamed


def broken_stream(a: Completion, b: Completion) -> list[str]:
    """Protocol breakage: streamed arguments that do not parse where the whole ones do."""
    whole_ok = all(parse_arguments(c)[1] is None for c in a.tool_calls)
    broken = [c.name for c in b.tool_calls if parse_arguments(c)[1] is not None]
    if broken and whole_ok:
        return [f"streamed arguments of {broken} do not parse once reassembled"]
    return []


@dataclass
class Difference:
    """How a streamed answer differs from the whole one, by what could have caused it.

    ``hard``: what only a broken stream produces -- text missing or added *inside*
    the answer (lost or repeated deltas), calls that arrive as markup in content.
    ``tail``: one answer is a strict prefix of the other -- a lost or repeated last
    delta, or a near-tie on the end-of-sequence token; a repeat of the whole
    request tells which. ``soft``: the answers diverge after a shared prefix, as
    two decodings of one prompt do on an engine whose arithmetic depends on
    batching or on the prompt cache; lost or repeated deltas cannot produce that.
    """

    hard: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)


def differences(a: Completion, b: Completion) -> Difference:
    """How a streamed answer ``b`` differs from the whole one ``a``."""
    d = Difference()
    change = text_change((a.content or "").strip(), (b.content or "").strip())
    what = f"streamed content {change.describe()}"
    if change.kind in ("lost", "extra"):
        d.hard.append(f"{what} against the whole answer")
    elif change.kind in ("shorter", "longer"):
        d.tail.append(what)
    elif change.kind == "diverged":
        d.soft.append(what)
    if a.tool_calls and not b.tool_calls and check_markup(b):
        d.hard.append("the streamed answer carries its tool calls as markup in content")
    elif call_signature(a.tool_calls) != call_signature(b.tool_calls):
        d.soft.append(f"tool calls differ: {call_signature(a.tool_calls)} vs {call_signature(b.tool_calls)}")
    if a.finish_reason != b.finish_reason:
        d.soft.append(f"finish_reason {a.finish_reason!r} vs streamed {b.finish_reason!r}")
    return d


def said(c: Completion) -> tuple[str, list[tuple[str, str]], str | None]:
    return (c.content or "").strip(), call_signature(c.tool_calls), c.finish_reason


class _Equivalence(Probe):
    """Each key: a body sent whole and streamed, judged by :class:`Difference`.
    Where one answer is only a prefix of the other, the whole body is sent once
    more (repeat 1): if it reproduces the whole answer, the stream lost or added
    its end; if not, decoding is what varies."""

    keys: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.max_follow_ups = len(cls.keys)  # at most one repeat per key

    def _pair(self, steps: Steps, key: str) -> tuple[Exchange, Exchange, Difference] | Assessment:
        got = get_pair(steps, self.name, key)
        if isinstance(got, Assessment):
            return got
        plain, streamed = got
        d = differences(completion(plain), completion(streamed))
        d.hard[:0] = [f"stream anomaly: {a}" for a in streamed.stream_anomalies]
        d.hard += broken_stream(completion(plain), completion(streamed))
        return plain, streamed, d

    def follow_up_sends(self, first: Steps) -> list[tuple[Case, int]]:
        plain = {c.id: c for c in self.cases()}
        out = []
        for key in self.keys:
            got = self._pair(first, key)
            if isinstance(got, tuple) and not got[2].hard and got[2].tail:
                out.append((plain[f"{self.name}/{key}.plain"], 1))  # the whole body again
        return out

    def assess(self, steps: Steps) -> Assessment:
        evidence: list[ExchangeExcerpt] = []
        fails: list[str] = []
        notes: list[str] = []
        protocol = False
        for key in self.keys:
            got = must(self._pair(steps, key))
            plain, streamed, d = got
            found = "; ".join(d.hard + d.tail + d.soft)
            if d.hard:
                protocol = True
                fails.append(f"{key}: {found}")
                evidence += [excerpt(plain), excerpt(streamed, found)]
            elif d.tail:
                again = answer(steps, f"{self.name}/{key}.plain", repeat=1)
                if isinstance(again, Assessment):
                    return Assessment(INCONCLUSIVE, f"{key}: {found}, and the repeat of the whole "
                                      f"request is missing: {again.reason}", [excerpt(plain), excerpt(streamed)])
                if said(completion(again)) == said(completion(plain)):
                    fails.append(f"{key}: {found}, while the whole request repeated gives the whole "
                                 "answer again: the stream lost or repeated its end")
                    evidence += [excerpt(plain), excerpt(streamed, found), excerpt(again)]
                else:
                    notes.append(f"{key}: {found}, and the whole request repeated differs too: "
                                 "decoding is not reproducible here")
            elif d.soft:
                notes.append(f"{key}: {found} -- a divergence, which lost or repeated deltas "
                             "cannot produce: decoding is not reproducible here")
        if fails:
            return Assessment(FAIL, " | ".join(fails)[:600], evidence, protocol=protocol)
        base = f"{len(self.keys)} streamed answer(s) faithful to the whole ones"
        return Assessment(PASS, (base + " -- " + " | ".join(notes))[:600] if notes else base)


class StreamAnswer(_Equivalence):
    name = "stream.answer_equivalent"
    description = "a plain answer at temperature 0 is the same streamed and not streamed"
    rows = (6, 19)
    keys = ("sky",)

    def cases(self) -> list[Case]:
        body = {"messages": [user("In two sentences: why is the sea salty?")],
                "temperature": 0, "max_tokens": 48}
        return pair(self, "sky", body)


class StreamToolCalls(_Equivalence):
    name = "stream.tool_calls_equivalent"
    description = ("tool calls streamed and not streamed agree once deltas are reassembled by "
                   "index; lost, repeated or mis-indexed deltas are flagged")
    rows = (6,)
    keys = tuple(k for k, _, _ in NEEDS_TOOL[:2])

    def cases(self) -> list[Case]:
        out: list[Case] = []
        # One under the default tool_choice, one forced: the deltas are compared either way.
        for (key, question, _tool), choice in zip(NEEDS_TOOL[:2], (None, "required"), strict=True):
            body: dict[str, Any] = {
                "messages": [{"role": "system", "content": SYSTEM_TOOLS}, user(question)],
                "tools": TOOLS, "temperature": 0, "max_tokens": 96}
            if choice is not None:
                body["tool_choice"] = choice
            out += pair(self, key, body)
        return out


class UsageConsistent(Probe):
    """Owns no requests: reads every answer, and the stream probes' pairs."""

    name = "usage.consistent"
    description = ("usage present in every answer with total = prompt + completion, and the same "
                   "streamed as not streamed")
    rows = (19,)
    PAIRS = ((StreamAnswer.name, StreamAnswer.keys), (StreamToolCalls.name, StreamToolCalls.keys))

    def assess(self, steps: Steps) -> Assessment:
        answers = [x for x in steps.all() if x.ok]
        bad = [(x, f.message) for x in answers for f in check_usage(completion(x))]
        for probe, keys in self.PAIRS:
            for key in keys:
                got = get_pair(steps, probe, key)
                if isinstance(got, Assessment):
                    continue
                bad += [(got[1], m) for m in _pair_mismatch(completion(got[0]), completion(got[1]))]
        if not answers:
            return Assessment(INCONCLUSIVE, "no successful answer to check")
        if bad:
            return Assessment(FAIL, f"{len(bad)} usage problem(s): {bad[0][1]}",
                              [excerpt(x, m) for x, m in bad[:4]])
        return Assessment(PASS, f"usage consistent in all {len(answers)} answers")


def _pair_mismatch(plain: Completion, streamed: Completion) -> list[str]:
    a, b = plain.usage or {}, streamed.usage or {}
    if not b:
        return []  # check_usage already reported the missing usage
    out = []
    if a.get("prompt_tokens") != b.get("prompt_tokens"):
        out.append(f"prompt_tokens {a.get('prompt_tokens')} whole vs {b.get('prompt_tokens')} streamed")
    d = differences(plain, streamed)
    same = not (d.hard or d.tail or d.soft)
    if same and a.get("completion_tokens") != b.get("completion_tokens"):
        out.append(f"completion_tokens {a.get('completion_tokens')} whole vs "
                   f"{b.get('completion_tokens')} streamed for the same answer")
    return out


PROBES: tuple[type[Probe], ...] = (StreamAnswer, StreamToolCalls, UsageConsistent)

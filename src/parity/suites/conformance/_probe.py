"""What a conformance probe is, and the helpers every probe shares.

A probe is a small class: a stable dotted ``name``, a one-line
``description``, the FAILURE-MODES rows it covers, the Cases it sends
(``cases()``, each sent ``repeats`` times, or ``sends()`` for finer control; multi-step probes build further
Cases from the first answers in ``follow_ups``, deterministically, so that a
resumed run asks for the same ones), and a pure ``judge``.

``judge(candidate, reference)`` sees every exchange of the suite on each
endpoint (``Steps``), so cross-cutting probes can scan all answers. With
``reference=None`` it judges an endpoint on its own (the reference's row).
The default rule: judge the candidate on its own. A probe the reference
itself fails or cannot exercise (``unsupported``, or nothing to judge in its
answers: ``Assessment.exercised`` false) is ``not_applicable`` for
the candidate unless the candidate passes: the probe could not show that the
behaviour was the endpoint's to get right, and an otherwise clean candidate
stays clean. A failure where the reference was merely inconclusive stays
``inconclusive``.

An ``assess`` ends early with ``must(...)``: ``x = must(answer(steps, case_id))`` is the
answer, or, when there is none to judge, the end of the assessment with what ``answer``
said (every subclass's ``assess`` is wrapped to return it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from parity.case import Case
from parity.evidence import ExchangeExcerpt, excerpt_of
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.verdict import ProbeOutcome, ProbeResult

PASS, FAIL = ProbeOutcome.PASS, ProbeOutcome.FAIL
UNSUPPORTED, INCONCLUSIVE = ProbeOutcome.UNSUPPORTED, ProbeOutcome.INCONCLUSIVE
NOT_APPLICABLE = ProbeOutcome.NOT_APPLICABLE
# 4xx that mean "not now", not "not supported".
_TRANSIENT_4XX = frozenset({408, 409, 425, 429})
T = TypeVar("T")


@dataclass(frozen=True)
class Assessment:
    outcome: ProbeOutcome
    reason: str
    evidence: list[ExchangeExcerpt] = field(default_factory=list)
    # A broken protocol (a stream whose deltas repeat or vanish, arguments that only
    # break when streamed) is the endpoint's fault whatever the model does: the
    # reference's own noisy failure of the same probe does not excuse it.
    protocol: bool = False
    # False when the answers gave the probe nothing to judge (no tool call to check or echo
    # back): on the reference, the probe "cannot exercise" the behaviour, as when unsupported.
    exercised: bool = True


class Steps:
    """One endpoint's exchanges of this suite, by case id and repeat."""

    def __init__(self, exchanges: Iterable[Exchange], family: str | None = None) -> None:
        self._by: dict[tuple[str, int], Exchange] = {(x.case_id, x.repeat): x for x in exchanges}
        self.family = family  # the endpoint's declared chat-format family (checks try it first)

    def get(self, case_id: str, repeat: int = 0) -> Exchange | None:
        return self._by.get((case_id, repeat))

    def all(self) -> list[Exchange]:
        return [self._by[k] for k in sorted(self._by)]

    def owned(self, probe: str) -> list[Exchange]:
        return [x for x in self.all() if x.case_id.startswith(probe + "/")]


def excerpt(x: Exchange, note: str = "", *, check: str | None = None) -> ExchangeExcerpt:
    """Evidence for one exchange: what was asked and what came back, trimmed. No headers."""
    return excerpt_of(x, note, check=check)


def unusable(x: Exchange | None, what: str = "") -> Assessment | None:
    """None when ``x`` carries a completion; else how the probe ends because it does not.

    A clear rejection (4xx) means the parameter is unsupported, and says so; a
    2xx that is not a chat completion, or a broken stream, is a failure; a
    timeout or 5xx says nothing either way.
    """
    if x is None:
        return Assessment(INCONCLUSIVE, f"no answer recorded{' for ' + what if what else ''}")
    if x.ok:
        return None
    ev = [excerpt(x)]
    if x.status is ExchangeStatus.HTTP_ERROR and x.http_status is not None:
        if (400 <= x.http_status < 500 and x.http_status not in _TRANSIENT_4XX) or x.http_status == 501:
            return Assessment(UNSUPPORTED, f"rejected with HTTP {x.http_status}: {x.error}", ev)
    if x.status in (ExchangeStatus.INVALID_BODY, ExchangeStatus.STREAM_ERROR):
        return Assessment(FAIL, f"not a valid chat completion ({x.status.value}): {x.error}", ev)
    return Assessment(INCONCLUSIVE, f"request failed ({x.status.value}): {x.error}", ev)


def answer(steps: Steps, case_id: str, repeat: int = 0) -> Exchange | Assessment:
    """The exchange for ``case_id`` if it carries a completion, else the probe's end."""
    x = steps.get(case_id, repeat)
    bad = unusable(x, case_id)
    if bad is not None:
        return bad
    assert x is not None
    return x


class Ended(Exception):
    """An assessment ended early by ``must``, carrying its result."""

    def __init__(self, assessment: Assessment) -> None:
        super().__init__(assessment.reason)
        self.assessment = assessment


def must(got: T | Assessment) -> T:
    """``got`` when it is what was asked for (an answer, a pair, a list); an Assessment (nothing
    to judge) ends the calling probe's ``assess`` with it."""
    if isinstance(got, Assessment):
        raise Ended(got)
    return got


def _ends_early(assess: Callable[[Probe, Steps], Assessment]) -> Callable[[Probe, Steps], Assessment]:
    @functools.wraps(assess)
    def wrapped(self: Probe, steps: Steps) -> Assessment:
        try:
            return assess(self, steps)
        except Ended as end:
            return end.assessment

    return wrapped


def completion(x: Exchange) -> Completion:
    """The completion of an exchange ``unusable`` accepted."""
    assert x.completion is not None
    return x.completion


def temperature(x: Exchange) -> float | None:
    t = x.request.get("temperature")
    return float(t) if isinstance(t, int | float) else None


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def not_applicable(mine: Assessment, theirs: Assessment) -> Assessment:
    """The candidate's result in the light of the reference's own on the same probe."""
    if mine.outcome in (PASS, UNSUPPORTED) or (mine.outcome is FAIL and mine.protocol and not theirs.protocol):
        return mine  # a broken protocol is the endpoint's whatever the reference does
    if theirs.outcome in (FAIL, UNSUPPORTED) or not theirs.exercised:
        what = "fails it too" if theirs.outcome is FAIL else "cannot exercise it"
        return Assessment(NOT_APPLICABLE, f"not applicable: the reference {what} ({theirs.reason}); "
                          f"here: {mine.outcome.value}: {mine.reason}", mine.evidence)
    if mine.outcome is FAIL and theirs.outcome is not PASS:
        return Assessment(INCONCLUSIVE, f"{mine.reason} -- but the reference does not pass "
                          f"either ({theirs.outcome.value}: {theirs.reason})", mine.evidence)
    return mine


class Probe:
    """Base class: subclasses set the class attributes and ``cases``/``assess``."""

    name: ClassVar[str]
    description: ClassVar[str]
    rows: ClassVar[tuple[int, ...]] = ()
    repeats: ClassVar[int] = 1
    max_follow_ups: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("assess")
        if own is not None:  # so that ``must`` can end it
            cls.assess = _ends_early(own)  # type: ignore[method-assign,assignment]

    def cases(self) -> list[Case]:
        return []

    def follow_ups(self, first: Steps) -> list[Case]:
        """Cases built from this endpoint's first answers (e.g. a second turn)."""
        return []

    def follow_up_sends(self, first: Steps) -> list[tuple[Case, int]]:
        """The second-stage requests, each case with its repeat index (a repeat of
        a first-stage case must take a new index: the store keys by body)."""
        return [(c, 0) for c in self.follow_ups(first)]

    def sends(self) -> list[tuple[Case, int]]:
        """The first-stage requests: each case with its repeat index."""
        return [(c, r) for c in self.cases() for r in range(self.repeats)]

    def planned(self) -> int:
        return len(self.sends()) + self.max_follow_ups

    def case(self, step: str, body: dict[str, Any], *tags: str) -> Case:
        return Case(id=f"{self.name}/{step}", body=body, tags=tags)

    def assess(self, steps: Steps) -> Assessment:
        raise NotImplementedError

    def judge(self, candidate: Steps, reference: Steps | None) -> ProbeResult:
        mine = self.assess(candidate)
        if reference is not None and mine.outcome is not PASS:
            mine = not_applicable(mine, self.assess(reference))
        return self.result(mine, candidate)

    def result(self, a: Assessment, steps: Steps) -> ProbeResult:
        return ProbeResult(name=self.name, description=self.description, outcome=a.outcome,
                           requests=sum(x.attempts for x in steps.owned(self.name)),
                           reason=a.reason, evidence=list(a.evidence[:6]))

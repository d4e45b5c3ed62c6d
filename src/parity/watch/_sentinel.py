"""The sentinel: a few cheap requests per tick whose answers move when the served model does.

Per tick and fixed prompt (the equality suite's prompts and sampling, at a
short length), the reference answers twice — an *anchor* ``a`` and a
*control* ``x`` — and the candidate once, ``y``; all three are drawn at the
same time with distinct seeds. The observation for the prompt is

    g = clip((D(a, y) − D(a, x)) / scale, −1, 1)

with ``D`` the distance the answers allow: the top-k total-variation lower
bound at the first generated position where logprobs are reported (the
equality suite's first-token statistic, scale 0.05), else one minus the
Hamming similarity of the answers (scale 1). A tool-call canary adds one
observation with ``D`` = 0 when two answers make the same call decision
(same function names and arguments, or no call) and 1 otherwise.

Validity: if the candidate serves what the reference serves, ``y`` and ``x``
are exchangeable given ``a`` and the past, so ``g`` is symmetric about zero
and has mean zero — what the detector assumes. A candidate that moves away
from the reference makes ``D(a, y)`` larger on average.

The reference against its own past: on the reference's own ticks it answers
three times; ``a, x`` as above and ``h`` = the third answer of the same
prompt from ``lag`` ticks before (used by no other observation), in place of
``y``. A change of the reference shows for ``lag`` ticks; a change of a
candidate never shows there, which is how the two are told apart.

K controls (``controls = K`` > 1, opt-in): per candidate prompt the reference answers
``K + 1`` times — the anchor ``a`` and controls ``x_1 .. x_K`` — and the observation is the
rank e-value :func:`parity.watch.rank_evalue` of ``D(a, y)`` among the ``D(a, x_k)``, the same
``D`` on the same shared basis (in the greedy mode: whether the texts differ; for the canary:
whether the call decisions differ), over the controls that answered. Under the same null (``y``
and the controls exchangeable given ``a``) it has mean at most 1; the detector bets on it as an
e-value (:class:`parity.watch.EvalueDetector`). The reference's own stream keeps its three
answers and ``g``: ``controls`` is a candidate's setting.

Greedy black box (``blackbox = "greedy"``, for a candidate without logprobs):
the same three answers per prompt, but each request is the equality suite's
greedy round (``Sampling.greedy(32)``: temperature 0, 32 tokens, no logprobs),
and the observation is the odd-one-out ``g`` of
:func:`parity.stats.odd_one_out_g` on the texts, compared whole: 1 if the
candidate's answer alone differs, −½ if one reference answer alone differs,
0 otherwise. Under "no change" the three answers are exchangeable, so ``g``
has conditional mean 0 (not symmetric: −½ twice as often as 1, which the
detector's bets allow, since ``1 + λ g >= 1 − |λ| > 0`` for ``|λ| < 1``).
Assumption: the endpoint honours temperature 0, or failing to is itself the
change (a sampling override); a reference whose greedy answers vary is valid
only if a faithful candidate varies the same way (docs/equality.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from parity.case import Case
from parity.checks.conformance import call_signature
from parity.exchange import Exchange
from parity.stats import hamming_similarity, odd_one_out_g, topk_tv_lower_bound
from parity.suites.equality import PROMPTS, Sampling, choose_prompts, sample_seed
from parity.suites.equality._samples import Sample, to_sample

from ._detect import rank_evalue

__all__ = ["CANARY", "GREEDY", "SENTINEL", "SentinelDesign", "has_logprobs", "logprobs_missing", "observe",
           "observe_reference"]

SENTINEL = "sentinel"
CANARY = "canary"
LOGPROB_SCALE = 0.05  # the equality suite's first-token scale
GREEDY = "greedy"  # the black-box mode sending greedy odd-one-out rounds
GREEDY_TOKENS = 32  # the equality suite's greedy length (docs/equality.md)
SAMPLED_TOKENS = 8  # the sampled prompts' length (the first-token statistic reads one; the Hamming one all)
_CANARY_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}
_CANARY_PROMPT = "What is the weather in Paris right now? Use the tool."


@dataclass(frozen=True)
class SentinelDesign:
    """What a tick sends; fixed per endpoint so that ticks are comparable."""

    prompts: tuple[str, ...]
    canary: bool = True
    seed: int = 0
    sampling: Sampling = field(default_factory=lambda: Sampling(max_tokens=SAMPLED_TOKENS))
    # Where logprobs are missing: GREEDY sends greedy rounds and observes the odd one out;
    # otherwise the name of the distance between sampled answers (BLACKBOX_DISTANCES).
    blackbox: str = "hamming"
    # Reference controls per candidate request: 1 is the paired ``g``; K > 1 the rank e-value.
    controls: int = 1

    def __post_init__(self) -> None:
        if self.controls < 1:
            raise ValueError(f"controls must be >= 1, got {self.controls}")
        if self.blackbox != GREEDY and self.blackbox not in BLACKBOX_DISTANCES:
            raise ValueError(f"unknown black-box distance {self.blackbox!r} "
                             f"(known: {', '.join([GREEDY, *BLACKBOX_DISTANCES])})")

    @classmethod
    def make(cls, n_prompts: int, *, canary: bool = True, seed: int = 0,
             blackbox: str = "hamming", controls: int = 1, logprobs: bool = True) -> SentinelDesign:
        """``logprobs=False``: an endpoint configured without them is never asked for them (a
        provider may refuse the parameter), whichever black-box statistic watches it."""
        return cls(prompts=tuple(choose_prompts(seed, max(2, n_prompts))[:n_prompts]),
                   canary=canary, seed=seed, blackbox=blackbox, controls=controls,
                   sampling=Sampling(max_tokens=SAMPLED_TOKENS, logprobs=logprobs))

    @property
    def asks_logprobs(self) -> bool:
        """Whether the prompts ask for logprobs (greedy rounds never do)."""
        return self.request_sampling.logprobs

    @property
    def reference_draws(self) -> int:
        """The reference's answers per prompt on a candidate's tick: the anchor and the controls."""
        return 1 + self.controls

    @property
    def greedy(self) -> bool:
        """Whether the prompts are asked as greedy odd-one-out rounds (temperature 0, no logprobs)."""
        return self.blackbox == GREEDY

    @property
    def request_sampling(self) -> Sampling:
        """The prompts' sampling: ``sampling``, or its greedy form (the equality suite's builder)."""
        return self.sampling.greedy(GREEDY_TOKENS) if self.greedy else self.sampling

    def cases(self, tick_id: str, stream: str, draws: int) -> list[Case]:
        """``draws`` answers per prompt (and of the canary) for one tick and stream."""
        text = dict(PROMPTS)
        sampling = self.request_sampling
        out: list[Case] = []
        for draw in range(draws):
            for pid in self.prompts:
                seed = sample_seed(self.seed, f"{tick_id}/{stream}", pid, draw)
                out.append(Case(id=f"{pid}#{draw}", body=sampling.body(text[pid], seed)))
            if self.canary:
                out.append(Case(id=f"{CANARY}#{draw}", body=_canary_body(tick_id, stream, draw)))
        return out

    def requests(self, draws: int) -> int:
        return draws * (len(self.prompts) + int(self.canary))


def _canary_body(tick_id: str, stream: str, draw: int) -> dict[str, Any]:
    # The seed only keeps the bodies distinct: at temperature 0 it should not matter.
    seed = int.from_bytes(hashlib.sha256(f"{tick_id}/{stream}/{draw}".encode()).digest()[:4], "big") >> 1
    return {"messages": [{"role": "user", "content": _CANARY_PROMPT}], "tools": [_CANARY_TOOL],
            "tool_choice": "auto", "temperature": 0.0, "max_tokens": 64, "seed": seed}


def _call_signature(x: Exchange) -> list[tuple[str, str]]:
    assert x.completion is not None
    return call_signature(x.completion.tool_calls)


def _distance(sa: Sample, sb: Sample, blackbox: str, logprobs: bool) -> tuple[float, float]:
    """``(D(a, b), scale)`` for two answers to the same prompt, on the basis the triplet shares."""
    if logprobs and sa.first_top is not None and sb.first_top is not None:
        return topk_tv_lower_bound(sa.first_top, sb.first_top), LOGPROB_SCALE
    return min(max(BLACKBOX_DISTANCES[blackbox](sa, sb), 0.0), 1.0), 1.0


def _text_only(s: Sample) -> Sample:
    return Sample(prompt=s.prompt, index=s.index, order=s.order, text=s.text, tokens=None, first_top=None)


def hamming_distance(a: Sample, b: Sample) -> float:
    """1 − the Hamming similarity of two answers (tokens when both report them, else characters)."""
    tokens = a.tokens is not None and b.tokens is not None
    return 1.0 - hamming_similarity(_seq(a, tokens), _seq(b, tokens), _length(a, b, tokens))


# The black-box sentinel's distances between two answers to one prompt, by name
# (SentinelDesign.blackbox). Any function of the two answers into [0, 1] keeps the
# detector valid: the candidate's and the control's answers are exchangeable under
# "no change", whatever D is. A better black-box statistic (issue 14) registers here.
BLACKBOX_DISTANCES: dict[str, Callable[[Sample, Sample], float]] = {"hamming": hamming_distance}


def _seq(s: Sample, tokens: bool) -> Sequence[str]:
    return s.tokens if tokens and s.tokens is not None else s.text


def _length(a: Sample, b: Sample, tokens: bool) -> int:
    return max(1, len(_seq(a, tokens)), len(_seq(b, tokens)))


def _triplet(anchor: Exchange, control: Exchange, other: Exchange, blackbox: str = "hamming") -> float | None:
    """``g`` for one prompt; None when an answer failed.

    Both distances are taken on one basis — first-token logprobs only when all three answers
    report them, tokens only when all three report them, else characters — so that ``D(a, y)``
    and ``D(a, x)`` stay exchangeable when one answer (a candidate without logprobs) lacks what
    the others have: mixing bases (a Hamming distance against a total variation) would not be.
    """
    if not (anchor.ok and control.ok and other.ok):
        return None
    if anchor.case_id.startswith(CANARY + "#"):
        far_c, near_c = (float(_call_signature(anchor) != _call_signature(b)) for b in (other, control))
        return far_c - near_c
    a, x, y = to_sample(anchor, 0), to_sample(control, 0), to_sample(other, 0)
    if a is None or x is None or y is None:
        return None
    logprobs = all(s.first_top is not None for s in (a, x, y))
    if any(s.tokens is None for s in (a, x, y)):
        a, x, y = _text_only(a), _text_only(x), _text_only(y)
    far, near = _distance(a, y, blackbox, logprobs), _distance(a, x, blackbox, logprobs)
    return min(max((far[0] - near[0]) / far[1], -1.0), 1.0)


def logprobs_missing(exchanges: Sequence[Exchange], endpoint: str) -> str | None:
    """Why ``endpoint``'s answers of one tick say it reports no logprobs; None if they do not.

    Asked for logprobs (the sampled sentinel), it either answered its prompts without any — at
    least one answer, none with first-token logprobs — or refused every prompt it did not answer
    with a 4xx whose body names logprobs. One tick decides: an endpoint that reports logprobs
    reports them on every answer, and a failed request (5xx, timeout) is not evidence.
    """
    mine = [x for x in exchanges if x.endpoint == endpoint and not x.case_id.startswith(CANARY + "#")]
    ok = [x for x in mine if x.ok]
    if any(has_logprobs(x) for x in ok):
        return None
    if ok:
        return f"{len(ok)} of {len(mine)} answers came back without logprobs"
    refused = [x for x in mine if x.http_status is not None and 400 <= x.http_status < 500
               and "logprob" in _body_text(x).lower()]
    if refused and len(refused) == len(mine):
        return f"{len(refused)} requests refused with HTTP {refused[0].http_status}: " \
               f"{_body_text(refused[0])[:160]!r}"
    return None


def _body_text(x: Exchange) -> str:
    parts = [x.error or "", x.raw_excerpt or ""]
    if x.response is not None:
        parts.append(orjson.dumps(x.response).decode(errors="replace"))
    return " ".join(p for p in parts if p)


def has_logprobs(x: Exchange) -> bool:
    """Whether an answer reports first-token logprobs (what the logprob sentinel reads)."""
    s = to_sample(x, 0)
    return s is not None and s.first_top is not None


def _odd_one_out(anchor: Exchange, control: Exchange, other: Exchange) -> float | None:
    """The greedy round's ``g`` on the answers' texts (compared whole); None when one failed."""
    texts = [x.completion.content or "" for x in (anchor, control, other)
             if x.ok and x.completion is not None]
    if len(texts) < 3:
        return None
    return odd_one_out_g(texts[:2], texts[2])


def _by_id(exchanges: Sequence[Exchange], endpoint: str) -> dict[str, Exchange]:
    return {x.case_id: x for x in exchanges if x.endpoint == endpoint}


def observe(design: SentinelDesign, exchanges: Sequence[Exchange], reference: str,
            candidate: str) -> list[float]:
    """The tick's observations for a candidate, in the design's fixed order (pure)."""
    ref, cand = _by_id(exchanges, reference), _by_id(exchanges, candidate)
    if design.controls > 1:
        return _rank_observations(design, ref, cand)
    return _observations(design, ref, ref, cand)


def observe_reference(design: SentinelDesign, now: Sequence[Exchange], past: Sequence[Exchange],
                      reference: str) -> list[float]:
    """The reference's tick against its third answers of ``lag`` ticks before (pure; ``g`` whatever
    ``design.controls``: the reference's own stream is not a candidate's)."""
    ref = _by_id(now, reference)
    old = {cid.replace("#2", "#0"): x for cid, x in _by_id(past, reference).items() if cid.endswith("#2")
           and _same_request(x, ref.get(cid.replace("#2", "#0")))}
    return _observations(design, ref, ref, old)


def _same_request(past: Exchange, now: Exchange | None) -> bool:
    """Whether a past answer was asked as the current one (all but the seed): after the sentinel
    switched to black-box, the lagged answers were sampled differently and are not comparable."""
    if now is None:
        return False
    return {k: v for k, v in past.request.items() if k != "seed"} == \
        {k: v for k, v in now.request.items() if k != "seed"}


def _observations(design: SentinelDesign, anchor: dict[str, Exchange], control: dict[str, Exchange],
                  other: dict[str, Exchange]) -> list[float]:
    ids = [*design.prompts, *([CANARY] if design.canary else [])]
    out: list[float] = []
    for pid in ids:
        a, x, y = anchor.get(f"{pid}#0"), control.get(f"{pid}#1"), other.get(f"{pid}#0")
        if a is None or x is None or y is None:
            continue
        g = _odd_one_out(a, x, y) if design.greedy and pid != CANARY else _triplet(a, x, y, design.blackbox)
        if g is not None:
            out.append(g)
    return out


def _rank_observations(design: SentinelDesign, ref: dict[str, Exchange],
                       cand: dict[str, Exchange]) -> list[float]:
    """Per prompt (and canary) the rank e-value of the candidate's answer among the controls.

    Controls that failed are left out (K' < K answered): the rank e-value over the ones that
    answered is valid as long as whether a request fails does not depend on the answer it would
    have drawn. No observation when the anchor, the candidate or every control failed.
    """
    out: list[float] = []
    for pid in [*design.prompts, *([CANARY] if design.canary else [])]:
        a, y = ref.get(f"{pid}#0"), cand.get(f"{pid}#0")
        xs = [x for k in range(1, design.reference_draws) if (x := ref.get(f"{pid}#{k}")) is not None and x.ok]
        if a is None or y is None or not (a.ok and y.ok) or not xs:
            continue
        ds = _distances(a, y, xs, design)
        if ds is not None:
            out.append(rank_evalue(ds[0], ds[1:]))
    return out


def _distances(anchor: Exchange, other: Exchange, controls: list[Exchange],
               design: SentinelDesign) -> list[float] | None:
    """``[D(a, y), D(a, x_1), ...]`` on one basis for all (as :func:`_triplet`); None if unreadable."""
    answers = [other, *controls]
    if anchor.case_id.startswith(CANARY + "#"):
        sig = _call_signature(anchor)
        return [float(_call_signature(b) != sig) for b in answers]
    if design.greedy:
        texts = [(x.completion.content or "") if x.completion is not None else None for x in (anchor, *answers)]
        if any(t is None for t in texts):
            return None
        return [float(t != texts[0]) for t in texts[1:]]
    samples = [to_sample(x, 0) for x in (anchor, *answers)]
    if any(s is None for s in samples):
        return None
    ss = [s for s in samples if s is not None]
    logprobs = all(s.first_top is not None for s in ss)
    if any(s.tokens is None for s in ss):
        ss = [_text_only(s) for s in ss]
    return [_distance(ss[0], b, design.blackbox, logprobs)[0] for b in ss[1:]]

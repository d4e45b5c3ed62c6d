"""Samples: what the equality tests need from an Exchange, and nothing else (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from parity.exchange import Exchange


@dataclass(frozen=True)
class Sample:
    """One sampled completion: its prompt, its sample index, its tokens if reported."""

    prompt: str
    index: int
    order: int  # the request's position in the endpoint's plan
    text: str
    tokens: tuple[str, ...] | None  # from `logprobs.content`; None when not reported
    first_top: dict[str, float] | None  # top_logprobs at the first generated position


def _top(entry: Any) -> dict[str, float] | None:
    """``{token: logprob}`` of one position: OpenAI ``top_logprobs``, or llama.cpp's
    ``top_probs`` (probabilities, reported with ``post_sampling_probs``)."""
    if not isinstance(entry, dict):
        return None
    try:
        if isinstance(entry.get("top_logprobs"), list) and entry["top_logprobs"]:
            out = {str(t["token"]): float(t["logprob"]) for t in entry["top_logprobs"]}
        elif isinstance(entry.get("top_probs"), list) and entry["top_probs"]:
            out = {str(t["token"]): math.log(max(float(t["prob"]), 1e-300)) for t in entry["top_probs"]}
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return None if any(math.isnan(v) or v > 1e-6 for v in out.values()) else out


def _tokens(logprobs: dict[str, Any] | None) -> tuple[tuple[str, ...] | None, dict[str, float] | None]:
    content = (logprobs or {}).get("content")
    if not isinstance(content, list) or not content:
        return None, None
    try:
        tokens = tuple(str(e["token"]) for e in content)
    except (KeyError, TypeError):
        return None, None
    return tokens, _top(content[0])


def to_sample(x: Exchange, order: int) -> Sample | None:
    """The sample an answered request holds; None for a failed one."""
    if not x.ok or x.completion is None:
        return None
    prompt, _, index = x.case_id.rpartition("#")
    if not prompt or not index.isdigit():
        return None
    tokens, first = _tokens(x.completion.logprobs)
    return Sample(prompt=prompt, index=int(index), order=order, text=x.completion.content or "",
                  tokens=tokens, first_top=first)


def samples(exchanges: Iterable[Exchange], order: dict[str, int]) -> list[Sample]:
    """Samples in plan order; ``order`` maps a case id to its request number."""
    out = [s for x in exchanges if x.case_id in order and (s := to_sample(x, order[x.case_id]))]
    return sorted(out, key=lambda s: s.order)


def use_tokens(*groups: Sequence[Sample]) -> bool:
    """Compare token sequences only when every sample reports its tokens; else characters."""
    return all(s.tokens is not None for g in groups for s in g) and any(g for g in groups)


def sequence(s: Sample, tokens: bool) -> Sequence[str]:
    if tokens and s.tokens is not None:
        return s.tokens
    return s.text

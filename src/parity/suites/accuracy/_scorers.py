"""Scorers: a model's answer text and a task's known answer to a score in [0, 1]. Pure.

Looked up by name from data (a task names its scorer); each is small and
documented with what it accepts, so a user can predict a grade by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._ifbench import follows_all

__all__ = ["SCORERS", "Scorer", "extract_choice", "extract_number", "score"]

Scorer = Callable[[str, str, int], float]  # (answer text, expected, n_choices) -> score

MAX_SCORED_CHARS = 20_000  # model output is untrusted: score a bounded prefix
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_MARKER = re.compile(r"####\s*(-?[\d,]*\.?\d+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_PUNCT = " \t\n\r.!?;:,'\"`*"


def _visible(text: str) -> str:
    return _THINK.sub("", text[:MAX_SCORED_CHARS])


def _normal(text: str) -> str:
    return " ".join(text.split()).strip(_PUNCT).casefold()


def exact(text: str, expected: str, n_choices: int = 0) -> float:
    """1 when the answer equals ``expected`` up to case, surrounding blanks and end punctuation."""
    return float(_normal(_visible(text)) == _normal(expected))


def _as_float(s: str) -> float | None:
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def extract_number(text: str) -> float | None:
    """GSM8K convention: the number after ``####`` if present, else the last number in the text."""
    visible = _visible(text)
    m = _MARKER.search(visible)
    if m is not None:
        return _as_float(m.group(1))
    found = _NUMBER.findall(visible)
    return _as_float(found[-1]) if found else None


def numeric(text: str, expected: str, n_choices: int = 0) -> float:
    """1 when the extracted final number equals ``expected`` (relative tolerance 1e-6)."""
    got, want = extract_number(text), _as_float(expected.strip())
    if got is None or want is None:
        return 0.0
    return float(abs(got - want) <= 1e-6 * max(1.0, abs(want)))


_LEAD = re.compile(r"^\(?([A-Z])(?:[.):]|[ \t]*(?:\n|$))")
_PHRASE = re.compile(r"\banswer\s*(?:is|:)\s*\(?([A-Za-z])\b", re.IGNORECASE)
_STANDALONE = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])")


def extract_choice(text: str, n_choices: int) -> str | None:
    """The chosen letter among the first ``n_choices`` (A, B, ...), or None.

    In order: a letter opening the answer ("B", "B.", "(B) ..."); the last
    "answer is X" / "answer: X"; the last standalone capital letter in range.
    """
    if n_choices < 1:
        return None
    last = chr(ord("A") + min(n_choices, 26) - 1)
    visible = _visible(text).strip()

    def ok(letter: str) -> str | None:
        up = letter.upper()
        return up if "A" <= up <= last else None

    # A leading "A" may be a word ("A cat"): only a capital followed by ".", ")",
    # ":" or the line's end opens an answer.
    m = _LEAD.match(visible)
    if m is not None and (hit := ok(m.group(1))) is not None:
        return hit
    for m in reversed(list(_PHRASE.finditer(visible))):
        if (hit := ok(m.group(1))) is not None:
            return hit
    for m in reversed(list(_STANDALONE.finditer(visible))):
        if (hit := ok(m.group(1))) is not None:
            return hit
    return None


def choice(text: str, expected: str, n_choices: int = 0) -> float:
    """1 when the extracted letter is ``expected`` (a letter)."""
    return float(extract_choice(text, n_choices) == expected.strip().upper())


def regex(text: str, expected: str, n_choices: int = 0) -> float:
    """1 when the pattern ``expected`` is found in the answer (``re.search``, case-sensitive)."""
    return float(re.search(expected, _visible(text)) is not None)


def ifbench(text: str, expected: str, n_choices: int = 0) -> float:
    """1 when the answer follows every IFBench instruction in ``expected`` (see ``_ifbench``)."""
    return float(follows_all(_visible(text), expected))


SCORERS: dict[str, Scorer] = {"exact": exact, "numeric": numeric, "choice": choice, "regex": regex,
                              "ifbench": ifbench}


def score(scorer: str, text: str, expected: str, n_choices: int = 0) -> float:
    """Score one answer with the named scorer (KeyError names the ones there are)."""
    try:
        fn = SCORERS[scorer]
    except KeyError:
        raise KeyError(f"unknown scorer {scorer!r}; available: {', '.join(SCORERS)}") from None
    return fn(text, expected, n_choices)

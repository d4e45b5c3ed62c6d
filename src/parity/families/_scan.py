"""Finding a family's raw call text or reasoning delimiters in a string.

Fast on the common case: ``marker_at`` finds the first call marker of any
family with C-speed substring searches (a marker starting with ``<`` or ``[``
is matched, anchored, only where the text has that character), and
``starts_bare`` tells whether the text starts like a JSON or pythonic call;
clean text is rejected before any parser runs. (One regex alternation of all
markers, searched, was about 100x slower on 2 KB of prose: Python's ``re``
tries every branch at every position.) Only the first ``MAX_SCAN`` characters
are read.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ._family import Family, ParsedCall
from ._registry import FAMILIES

MAX_SCAN = 200_000

_BY_NAME: dict[str, Family] = {}
for _f in FAMILIES:
    for _key in (_f.name, *_f.aliases):
        _BY_NAME.setdefault(_key.lower(), _f)

_MARKERS = sorted({m for f in FAMILIES for m in (*f.call_tokens, *f.call_markers)}, key=len, reverse=True)
_BRACKETED = re.compile("|".join(re.escape(m) for m in _MARKERS if m[0] in "<["))
_WORDS = tuple(m for m in _MARKERS if m[0] not in "<[")
_BARE = re.compile(r"\s*(?:```(?:json)?\s*)?[\[{]")
LONGEST_MARKER = max(map(len, _MARKERS))


def marker_at(text: str, start: int = 0) -> int:
    """Where the first call marker of any family starts in ``text[start:]``, or -1."""
    found = [i for w in _WORDS if (i := text.find(w, start)) >= 0]
    for ch in "<[":
        i = text.find(ch, start)
        while i >= 0 and (not found or i < min(found)):
            if _BRACKETED.match(text, i):
                found.append(i)
                break
            i = text.find(ch, i + 1)
    return min(found) if found else -1


def starts_bare(text: str) -> bool:
    """Whether ``text`` starts like a bare call (a JSON object or list, maybe fenced)."""
    return _BARE.match(text) is not None
_PREFIXES = frozenset(m[:k] for m in _MARKERS for k in range(1, len(m)))


_MARKER_FIRSTS = "".join(sorted({m[0] for m in _MARKERS}))


def _ends_in(text: str, firsts: str, prefixes: frozenset[str], longest: int) -> bool:
    """Whether a suffix of ``text`` is in ``prefixes`` (all shorter than ``longest``, each starting
    with one of ``firsts``): only suffixes that start with such a character are tried (the
    common text has few or none in its last characters)."""
    lo = max(0, len(text) - longest + 1)
    for ch in firsts:
        i = text.find(ch, lo)
        while i >= 0:
            if text[i:] in prefixes:
                return True
            i = text.find(ch, i + 1)
    return False


def ends_in_marker_start(text: str) -> bool:
    """Whether ``text`` ends with the first characters of a call marker (a stream may be
    about to send the rest)."""
    return _ends_in(text, _MARKER_FIRSTS, _PREFIXES, LONGEST_MARKER)
_DELIMITER_LIST = sorted({d for f in FAMILIES for d in f.delimiters}, key=len, reverse=True)
_DELIMITER_PREFIXES = frozenset(d[:k] for d in _DELIMITER_LIST for k in range(1, len(d)))
_DELIMITER_FIRSTS = "".join(sorted({d[0] for d in _DELIMITER_LIST}))
_LONGEST_DELIMITER = max(map(len, _DELIMITER_LIST))


def ends_in_delimiter_start(text: str) -> bool:
    """Whether ``text`` ends with the first characters of a reasoning delimiter."""
    return _ends_in(text, _DELIMITER_FIRSTS, _DELIMITER_PREFIXES, _LONGEST_DELIMITER)


_DELIMITERS = re.compile("|".join(map(re.escape, sorted({d for f in FAMILIES for d in f.delimiters},
                                                        key=len, reverse=True))))


def family(name: str | None) -> Family | None:
    """The entry for a family name or alias (case-insensitive); None if unknown or not given."""
    return _BY_NAME.get(name.strip().lower()) if name else None


def _order(declared: Family | None) -> Iterable[Family]:
    if declared is not None:
        yield declared
    yield from (f for f in FAMILIES if f is not declared)


@dataclass(frozen=True)
class CallLeak:
    """Raw call text of ``family`` found at ``start``; ``calls`` is what its parser recovered."""

    family: str
    marker: str
    start: int
    calls: tuple[ParsedCall, ...]


@dataclass(frozen=True)
class DelimiterLeak:
    """A reasoning delimiter found at ``start``; ``families`` use it (the declared one first)."""

    delimiter: str
    start: int
    families: tuple[str, ...]


def _first_marker(fam: Family, text: str) -> tuple[str, int] | None:
    best: tuple[str, int] | None = None
    for marker in (*fam.call_tokens, *fam.call_markers):
        at = text.find(marker)
        if at >= 0 and (best is None or at < best[1]):
            best = (marker, at)
    return best


def _marked(text: str, order: Iterable[Family]) -> CallLeak | None:
    """The parsed leak whose marker comes first (ties: registry order), else an unparsed one."""
    best: CallLeak | None = None
    fallback: CallLeak | None = None
    for fam in order:
        found = _first_marker(fam, text)
        if found is None or (best is not None and found[1] >= best.start):
            continue
        marker, at = found
        calls = tuple(fam.parse(text))
        if calls:
            best = CallLeak(fam.name, marker, at, calls)
        elif fallback is None and any(t in text for t in fam.call_tokens):
            fallback = CallLeak(fam.name, marker, at, ())  # a control token: a leak even unparsed
    return best or fallback


def find_call_leak(
    text: str | None, offered: Collection[str] | None = None, declared: Family | None = None
) -> CallLeak | None:
    """The first family whose raw tool-call syntax is in ``text``, or None.

    Marked formats count when a call-only control token is present or their
    parser recovers a call. Bare formats (a JSON object, a pythonic list)
    count only when ``offered`` (the request's tool names) is given and the
    whole text parses as calls to offered tools: a final answer that merely
    holds JSON is not a call.
    """
    if not text:
        return None
    text = text[:MAX_SCAN]
    if marker_at(text) < 0 and not (offered and starts_bare(text)):
        return None
    order = list(_order(declared))
    leak = _marked(text, (f for f in order if f.call_tokens or f.call_markers))
    if leak is not None or not offered:
        return leak
    for fam in order:
        if fam.bare:
            calls = fam.parse(text)
            if calls and all(c.name in offered for c in calls):
                return CallLeak(fam.name, "(bare)", len(text) - len(text.lstrip()), tuple(calls))
    return None


def find_delimiter_leak(text: str | None, declared: Family | None = None) -> DelimiterLeak | None:
    """The first reasoning delimiter of any family in ``text``, or None."""
    if not text:
        return None
    m = _DELIMITERS.search(text, 0, MAX_SCAN)
    if m is None:
        return None
    users = tuple(f.name for f in _order(declared) if m.group(0) in f.delimiters)
    return DelimiterLeak(m.group(0), m.start(), users)

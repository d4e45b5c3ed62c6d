"""Checks on generated text: characters from unexpected scripts, leaked special tokens.

Pure functions of strings. A script is the first word of a letter's Unicode
name (LATIN, CJK, THAI, HANGUL, CYRILLIC...): crude, dependency-free, and
enough to tell a Thai or Chinese run inside an English answer (FAILURE-MODES
row 16) from the accented Latin letters and symbols an answer may hold.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from parity.families import SPECIAL_TOKEN_RE

from ._finding import Finding

FOREIGN_SCRIPT = "text.foreign_script"
SPECIAL_TOKEN = "text.special_token"

# Scripts that never count as foreign: code, names and units are written in Latin.
ALWAYS_ALLOWED = frozenset({"LATIN"})
# Japanese mixes these; Chinese and Japanese share CJK ideographs.
_SCRIPT_ALIASES = {"HIRAGANA": "JAPANESE", "KATAKANA": "JAPANESE", "KATAKANA-HIRAGANA": "JAPANESE"}

def script_of(ch: str) -> str | None:
    """The script of a letter (None for digits, punctuation, symbols, spaces, emoji)."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    if not name:
        return "UNKNOWN"
    first = name.split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(first, first)


def scripts_in(text: str) -> Counter[str]:
    """How many letters of each script ``text`` holds."""
    out: Counter[str] = Counter()
    for ch in text:
        script = script_of(ch)
        if script is not None:
            out[script] += 1
    return out


def foreign_letters(text: str, allowed: Iterable[str]) -> list[str]:
    """Letters of ``text`` whose script is neither allowed nor Latin."""
    ok = set(allowed) | ALWAYS_ALLOWED
    return [ch for ch in text if (s := script_of(ch)) is not None and s not in ok]


def check_foreign_script(text: str, prompt: str, min_letters: int = 2) -> list[Finding]:
    """``text.foreign_script`` when at least ``min_letters`` letters are of a script
    the prompt does not use (one stray letter, e.g. a Greek pi, is not flagged)."""
    allowed = set(scripts_in(prompt))
    foreign = foreign_letters(text, allowed)
    if len(foreign) < min_letters:
        return []
    letters = sum(scripts_in(text).values())
    scripts = sorted({s for ch in foreign if (s := script_of(ch)) is not None})
    first = text.find(foreign[0])
    excerpt = text[max(0, first - 40) : first + 60]
    share = len(foreign) / letters if letters else 1.0
    return [Finding(
        check=FOREIGN_SCRIPT,
        message=f"{len(foreign)} letters in {', '.join(scripts)} (prompt uses "
                f"{', '.join(sorted(allowed | ALWAYS_ALLOWED))}): {''.join(foreign[:12])!r}",
        detail={"foreign": len(foreign), "letters": letters, "share": round(share, 4),
                "scripts": scripts, "excerpt": excerpt},
    )]


def check_special_tokens(text: str) -> list[Finding]:
    """``text.special_token`` for each distinct control token found in ``text``."""
    seen: dict[str, int] = {}
    for m in SPECIAL_TOKEN_RE.finditer(text):  # the one table: parity.families
        seen.setdefault(m.group(0), m.start())
    return [
        Finding(check=SPECIAL_TOKEN, message=f"special token {token!r} in generated text",
                detail={"token": token, "excerpt": text[max(0, at - 40) : at + len(token) + 40]})
        for token, at in seen.items()
    ]


@dataclass(frozen=True)
class TextChange:
    """How text ``b`` differs from text ``a``.

    ``kind`` is one of: ``same``; ``lost`` (``b`` is ``a`` with pieces missing
    inside it, as when stream deltas are dropped); ``extra`` (``b`` is ``a`` with
    pieces added inside it, as when deltas repeat); ``shorter`` / ``longer``
    (one is a strict prefix of the other: a lost or repeated *last* delta looks
    like that, and so does a near-tie on the end-of-sequence token); or
    ``diverged`` (both share ``at`` leading characters and then say different
    things, as two decodings of one prompt do when a near-tie flips under
    non-reproducible arithmetic; lost or repeated deltas cannot produce it).
    """

    kind: str
    at: int = 0
    chars: int = 0

    def describe(self) -> str:
        if self.kind == "lost":
            return f"{self.chars} character(s) missing"
        if self.kind == "extra":
            return f"{self.chars} character(s) added"
        if self.kind == "shorter":
            return f"stops after {self.at} of the other's {self.at + self.chars} character(s)"
        if self.kind == "longer":
            return f"goes on for {self.chars} character(s) after the other's {self.at}"
        if self.kind == "diverged":
            return f"diverged after {self.at} shared character(s)"
        return "identical"


def text_change(a: str, b: str) -> TextChange:
    """Classify the difference between ``a`` and ``b`` (pure; see :class:`TextChange`)."""
    if a == b:
        return TextChange("same", at=len(a))
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if at == len(b):
        return TextChange("shorter", at=at, chars=len(a) - at)
    if at == len(a):
        return TextChange("longer", at=at, chars=len(b) - at)
    ops = [op for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    kinds = {op[0] for op in ops}
    if kinds == {"delete"}:
        return TextChange("lost", at=at, chars=sum(i2 - i1 for _, i1, i2, _, _ in ops))
    if kinds == {"insert"}:
        return TextChange("extra", at=at, chars=sum(j2 - j1 for _, _, _, j1, j2 in ops))
    return TextChange("diverged", at=at)

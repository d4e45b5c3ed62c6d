"""Which stream frames cannot touch a secret: they skip the scrubber's JSON pass.

A stream frame needs the full pass (parse, follow each text channel, maybe hold
text back, re-encode) only when it could complete, contain or begin a secret.
With nothing held from earlier frames, that is when its raw bytes

- contain a secret in any form, or
- have a JSON string value that *ends* in the first characters of a secret
  (a channel's text that may continue in the next frame): the secret's JSON
  form cut short, right before the string's closing quote and what follows a
  value (``,``, ``}`` or ``]``), or
- use ``\\u`` or ``\\/`` escapes (then a secret's JSON form is not the one
  searched for; such frames always take the full pass).

Without those escapes a character has exactly one JSON spelling, so the one
compiled patterns built here (a trie of each secret's forms, where every
prefix followed by a value's end matches, and a whole form anywhere; one pattern
per first byte) find every frame that can contain or begin a secret. Forms
longer than ``DEPTH`` bytes are caught by their first ``DEPTH`` bytes anywhere
in the frame (more frames take the full pass, none is missed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEPTH = 24  # bytes of a secret's form followed in the trie (nesting of the compiled pattern)
_END = rb'"[ \t\r\n]*[,}\]]'  # a JSON string value's closing quote and what may follow a value
MAX_PATTERNS = 6  # past this many first bytes, one pattern for all of them
_ESCAPES = re.compile(rb"\\[u/]")
_HERE = -1  # trie key: a whole form (or a long form's first DEPTH bytes) ends at this node
_Node = dict[int, "_Node"]


def _trie(forms: Iterable[bytes]) -> _Node:
    root: _Node = {}
    for f in forms:
        node = root
        for c in f[:DEPTH]:
            node = node.setdefault(c, {})
        node[_HERE] = {}
    return root


def _emit(node: _Node) -> bytes:
    """Below a non-root node: a value's end right here, a whole form ending here, or a longer path."""
    if _HERE in node:
        return b""  # the form (or its first DEPTH bytes) is in the frame: nothing more to match
    alts = [_END, *(re.escape(bytes([c])) + _emit(child) for c, child in sorted(node.items()))]
    return b"(?:" + b"|".join(alts) + b")"


def risky(forms: Iterable[bytes]) -> tuple[re.Pattern[bytes], ...]:
    """Patterns, one of which is found in every frame that may contain or begin a secret: ``\\u``
    or ``\\/`` escapes; any of ``forms`` (a secret's byte forms; one longer than DEPTH by its
    first DEPTH bytes); a JSON string value that ends in the first bytes of a form. One pattern
    per first byte: a pattern that starts with one literal byte is searched for at C speed, an
    alternation of several is tried at every position (about 3x slower on a frame), which
    pays only once there are more than ``MAX_PATTERNS`` first bytes."""
    heads = _trie(f for f in forms if f)
    per_byte = [re.escape(bytes([c])) + _emit(child) for c, child in sorted(heads.items())]
    if len(per_byte) > MAX_PATTERNS:  # many first bytes: one alternation costs less than a search each
        return _ESCAPES, re.compile(b"|".join(per_byte))
    return (_ESCAPES, *(re.compile(p) for p in per_byte))

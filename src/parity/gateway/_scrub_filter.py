"""Which stream frames cannot touch a secret: they skip the scrubber's JSON pass.

A stream frame needs the full pass (parse, follow each text channel, maybe hold
text back, re-encode) only when it could complete, contain or begin a secret.
With nothing held from earlier frames, that is when its raw bytes

- contain a secret in any form (``Scrubber.found``), or
- have a JSON string value that *ends* in the first characters of a secret
  (a channel's text that may continue in the next frame): the secret's JSON
  form cut short, right before the string's closing quote and what follows a
  value (``,``, ``}`` or ``]``), or
- use ``\\u`` or ``\\/`` escapes (then a secret's JSON form is not the one
  searched for; such frames always take the full pass).

Without those escapes a character has exactly one JSON spelling, so the one
compiled pattern built here (a trie of each secret's JSON-form prefixes, each
followed by a value's end; one per first byte) finds every frame that can begin a secret. Prefixes
longer than ``DEPTH`` bytes are caught by their first ``DEPTH`` bytes anywhere
in the frame (more frames take the full pass, none is missed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

DEPTH = 24  # bytes of a secret's JSON form followed in the trie (nesting of the compiled pattern)
_END = rb'"[ \t\r\n]*[,}\]]'  # a JSON string value's closing quote and what may follow a value
_Node = dict[int, "_Node"]


def json_form(secret: str) -> bytes:
    """The secret as it appears inside a JSON string written without ``\\u``/``\\/`` escapes."""
    return orjson.dumps(secret)[1:-1]


def _trie(words: Iterable[bytes]) -> _Node:
    root: _Node = {}
    for w in words:
        node = root
        for c in w:
            node = node.setdefault(c, {})
    return root


def _emit(node: _Node) -> bytes:
    """Every path of the trie below ``node`` (the empty one too), each followed by a value's end."""
    alts = [_END, *(re.escape(bytes([c])) + _emit(child) for c, child in sorted(node.items()))]
    return b"(?:" + b"|".join(alts) + b")" if len(alts) > 1 else alts[0]


def may_begin(secrets: Iterable[str]) -> tuple[re.Pattern[bytes], ...]:
    """Patterns, one of which is found in every frame (without ``\\u``/``\\/``) whose string value
    ends in a proper prefix of a secret's JSON form. One pattern per first byte: a pattern that
    starts with one literal byte is searched for at C speed, an alternation of several is tried
    at every position (several times slower on a frame)."""
    forms = [json_form(s) for s in secrets]
    heads = _trie(f[: min(len(f) - 1, DEPTH)] for f in forms if len(f) > 1)
    long = {f[:DEPTH] for f in forms if len(f) - 1 > DEPTH}
    return tuple(re.compile(re.escape(bytes([c])) + _emit(child)) for c, child in sorted(heads.items())
                 ) + tuple(re.compile(re.escape(w)) for w in sorted(long))

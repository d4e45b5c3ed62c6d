"""What the family parsers share: reading JSON loosely, and reading tagged blocks in one pass.

Pure and total: malformed text yields ``None`` or nothing, never an exception.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ._family import ParsedCall

_S = re.DOTALL


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def loose(text: str) -> Any:
    """JSON if the text is JSON, else the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def as_arguments(value: Any) -> dict[str, Any] | None:
    """An arguments object; a JSON string holding one (some formats double-encode) is read too."""
    if isinstance(value, str):
        value = json_or_none(value)
    return value if isinstance(value, dict) else None


def call(name: str, value: Any) -> ParsedCall | None:
    args = as_arguments(value)
    name = name.strip()
    if not name or args is None:
        return None
    return ParsedCall(name, args)


def calls(items: Iterable[ParsedCall | None]) -> list[ParsedCall]:
    return [c for c in items if c is not None]


def named_json(obj: Any) -> ParsedCall | None:
    """``{"name": ..., "arguments" | "parameters": {...}}``."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    return call(obj["name"], args)


def json_values(text: str, whole: bool = False) -> list[Any]:
    """Consecutive JSON values at the start of ``text`` (separated by whitespace, ';' or ',');
    with ``whole``, none unless they make up all of ``text``."""
    out: list[Any] = []
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n;,":
            i += 1
        if i >= n:
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            return [] if whole else out
        out.append(value)
    return out


def blocks(text: str, opener: re.Pattern[str], closer: str) -> Iterator[tuple[re.Match[str], str]]:
    """Each ``opener`` match and the text up to the next ``closer``: one pass over ``text``.

    (A lazy ``(.*?)CLOSE`` regex rescans to the end of the text from every
    opener that has no closer: quadratic on hostile output, seconds on 30 KB.)
    """
    pos = 0
    while (m := opener.search(text, pos)) is not None:
        end = text.find(closer, m.end())
        if end < 0:
            return
        yield m, text[m.end():end]
        pos = end + len(closer)


def lit(s: str) -> re.Pattern[str]:
    return re.compile(re.escape(s))


def tagged(body: str, opener: re.Pattern[str], closer: str, strip_newline: bool = False) -> dict[str, Any]:
    """``{group(1): value}`` for each tagged value in ``body`` (XML-like parameter lists)."""
    out: dict[str, Any] = {}
    for m, value in blocks(body, opener, closer):
        if strip_newline:
            value = value.removeprefix("\n").removesuffix("\n")
        out[html.unescape(m.group(1)).strip()] = loose(value)
    return out

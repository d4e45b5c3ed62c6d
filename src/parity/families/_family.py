"""The shape of a family entry: data, plus one parser function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParsedCall:
    """One tool call recovered from raw model text."""

    name: str
    arguments: dict[str, Any]


Parser = Callable[[str], list[ParsedCall]]


@dataclass(frozen=True)
class Family:
    """One model family's chat-format facts, as its official chat template writes them.

    ``call_tokens`` are control tokens of the family's vocabulary that only a
    tool call produces: seen as text, they always mean the server failed to
    parse a call. ``call_markers`` are plain-text openers (``<tool_call>``,
    ``<function=``): they count only when the family's parser recovers a call
    from the text, so prose that mentions them is not flagged. A ``bare``
    family has no marker at all (Llama's JSON, Llama 4's pythonic list): its
    text counts only when the whole answer parses as calls to tools the
    request offered.
    """

    name: str
    title: str
    parse: Parser
    call_tokens: tuple[str, ...] = ()
    call_markers: tuple[str, ...] = ()
    bare: bool = False
    reasoning: tuple[tuple[str, str], ...] = ()
    special_tokens: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    templates: tuple[str, ...] = field(default=(), compare=False)

    @property
    def delimiters(self) -> tuple[str, ...]:
        """Every reasoning delimiter, openers and closers."""
        return tuple(d for pair in self.reasoning for d in pair if d)

    def summary(self) -> dict[str, Any]:
        """A JSON-able description (for docs, the CLI and reports)."""
        return {"name": self.name, "title": self.title, "call_tokens": list(self.call_tokens),
                "call_markers": list(self.call_markers), "bare": self.bare,
                "reasoning": [list(p) for p in self.reasoning],
                "special_tokens": list(self.special_tokens), "aliases": list(self.aliases)}

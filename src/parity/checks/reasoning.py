"""Checks on reasoning: a family's reasoning delimiters left in the text a client sees.

A server that does not split a thinking model's output (or splits it with the
wrong family's rules) leaves ``<think>``, ``</think>``, Harmony's
``<|channel|>analysis`` or Gemma's ``<|channel>`` in ``content``; one that
splits it badly leaves them inside ``reasoning_content``.
"""

from __future__ import annotations

from parity.exchange import Completion
from parity.families import family, find_delimiter_leak

from ._finding import Finding

DELIMITER_LEAK = "reasoning.delimiter_leak"


def check_reasoning_delimiters(completion: Completion, declared_family: str | None = None) -> list[Finding]:
    """``reasoning.delimiter_leak`` for ``content`` and for ``reasoning_content``, naming the
    delimiter and the families that use it (the declared family first)."""
    declared = family(declared_family)
    findings: list[Finding] = []
    for field, text in (("content", completion.content), ("reasoning_content", completion.reasoning_content)):
        leak = find_delimiter_leak(text, declared)
        if leak is None or text is None:
            continue
        start = max(0, leak.start - 40)
        findings.append(Finding(
            check=DELIMITER_LEAK,
            message=f"reasoning delimiter {leak.delimiter!r} ({', '.join(leak.families[:3])}) left in {field}",
            detail={"delimiter": leak.delimiter, "field": field, "families": list(leak.families),
                    "excerpt": text[start : leak.start + len(leak.delimiter) + 80]}))
    return findings

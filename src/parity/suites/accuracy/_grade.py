"""Exchanges to per-item scores (pure): what the accuracy statistics need, nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from parity.exchange import Exchange

from ._scorers import score
from ._tasks import Task


def answer_text(x: Exchange) -> str | None:
    """The visible answer; the reasoning only when the content is empty (cut off while thinking)."""
    if not x.ok or x.completion is None:
        return None
    c = x.completion
    return c.content if (c.content or "").strip() else (c.reasoning_content or "")


def item_scores(exchanges: Iterable[Exchange], tasks: Mapping[str, Task]) -> dict[str, list[float]]:
    """item id -> scores of its answered repeats (failed requests are missing, not wrong)."""
    out: dict[str, list[float]] = {}
    for x in sorted(exchanges, key=lambda e: e.case_id):
        item = x.case_id.rpartition("#")[0]
        task = tasks.get(item)
        text = answer_text(x)
        if task is None or text is None:
            continue
        out.setdefault(item, []).append(score(task.scorer, text, task.answer, task.choices))
    return out

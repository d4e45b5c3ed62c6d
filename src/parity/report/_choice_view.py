"""The choice section for the HTML and Markdown renderers (the data lives in ``_choice``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from parity.store import RunRecord
from parity.verdict import Verdict

from ._boxplot import box_svg
from ._choice import choice_rows, choice_table, quality_note


@dataclass(frozen=True)
class ChoiceView:
    header: list[str]
    body: list[list[str]]  # empty: nothing measured that the section could show
    boxes: Markup | None
    note: str | None = None  # what the quality column measures (the task set)


def _measured(verdicts: Sequence[Verdict]) -> bool:
    """Accuracy or speed measured, or tokens / money spent: every run that used tokens shows them."""
    return any(v.suite in ("accuracy", "speed") or "cost_usd" in v.metrics
               or ("tokens_prompt" in v.metrics and (v.metrics["tokens_prompt"].n or 0) > 0)
               for v in verdicts)


def choice_view(run: RunRecord, verdicts: Sequence[Verdict]) -> ChoiceView:
    rows = choice_rows(run, verdicts)
    header, body = choice_table(rows)
    return ChoiceView(header, body if _measured(verdicts) else [], box_svg(rows), quality_note(verdicts))


def choice_markdown(run: RunRecord, verdicts: Sequence[Verdict]) -> list[str]:
    if not _measured(verdicts):
        return []
    from ._markdown import md_text, table

    header, body = choice_table(choice_rows(run, verdicts))
    note = quality_note(verdicts)
    return ["## Quality, speed and price", "",
            "Each with its interval; no combined score. Per-item accuracy spread: see the HTML report.",
            *(["", md_text(note)] if note else []),
            "", *table(header, [[md_text(c) for c in row] for row in body]), ""]

"""Choosing an endpoint: quality, speed and price side by side, and what the run spent.

Three columns with their intervals, never folded into one score: which
trade-off is right is the reader's call. Built from verdicts and the run's
recorded configuration only (prices are configuration, not measurements).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.store import RunRecord
from parity.verdict import Estimate, Verdict

from ._format import fmt_number


@dataclass(frozen=True)
class ChoiceRow:
    endpoint: str
    quality: Estimate | None  # accuracy, clustered by item
    speed: Estimate | None  # output tokens/s p50 (speed suite)
    speed_label: str
    ttft: Estimate | None
    price: dict[str, float] | None  # USD per million tokens, as configured
    tokens_prompt: int
    tokens_completion: int
    spent_usd: float | None
    spread: tuple[float, ...] | None  # per-item accuracy: min, q1, median, q3, max


def _metric(verdicts: Sequence[Verdict], suite: str, prefix: str) -> tuple[str, Estimate] | None:
    for v in verdicts:
        if v.suite == suite:
            keys = sorted(k for k in v.metrics if k.startswith(prefix))
            if keys:
                return keys[0], v.metrics[keys[0]]
    return None


def speed_bucket(verdicts: Sequence[Verdict]) -> str | None:
    """The input-length bucket every endpoint's speed figures are compared at: one for all rows.

    The shortest bucket measured on every endpoint of the speed suite (TTFT grows with
    the prompt: figures of different buckets must never sit in one column); else the one
    measured on the most endpoints.
    """
    from parity.suites.speed import BUCKETS

    have: dict[str, set[str]] = {}
    for v in verdicts:
        if v.suite == "speed":
            have.setdefault(v.endpoint, set()).update(
                k.removeprefix("tokens_per_s.p50") for k in v.metrics if k.startswith("tokens_per_s.p50["))
    if not have:
        return None
    order = [f"[{label}]" for _, label in BUCKETS]
    counts = {b: sum(b in got for got in have.values()) for b in order}
    best = max(counts.values())
    return next((b for b in order if counts[b] == best), None) if best else None


def _spread(verdicts: Sequence[Verdict]) -> tuple[float, ...] | None:
    for v in verdicts:
        if v.suite == "accuracy":
            for t in v.tests:
                s = t.detail.get("item_spread")
                if isinstance(s, list) and len(s) == 5:
                    return tuple(float(x) for x in s)
    return None


def _row(name: str, mine: Sequence[Verdict], price: Any, bucket: str | None) -> ChoiceRow:
    acc = _metric(mine, "accuracy", "accuracy")
    tps = _metric(mine, "speed", f"tokens_per_s.p50{bucket}") if bucket else None
    ttft = _metric(mine, "speed", f"ttft_s.p50{bucket}") if bucket else None
    spent = [v.metrics["cost_usd"].value for v in mine if "cost_usd" in v.metrics]

    def total(key: str) -> int:
        return int(sum(v.metrics[key].value or 0 for v in mine if key in v.metrics))

    return ChoiceRow(
        endpoint=name, quality=acc[1] if acc else None, speed=tps[1] if tps else None,
        speed_label=tps[0].removeprefix("tokens_per_s.p50") if tps else "", ttft=ttft[1] if ttft else None,
        price=price if isinstance(price, dict) else None, tokens_prompt=total("tokens_prompt"),
        tokens_completion=total("tokens_completion"),
        spent_usd=sum(x for x in spent if x is not None) if spent else None, spread=_spread(mine))


def choice_rows(run: RunRecord, verdicts: Sequence[Verdict]) -> list[ChoiceRow]:
    """One row per endpoint, best measured accuracy first (endpoints without one last)."""
    prices = {e.get("name"): e.get("price") for e in run.config.get("endpoints", [])
              if isinstance(e, dict)}
    names = list(dict.fromkeys([*prices, *(v.endpoint for v in verdicts)]))
    bucket = speed_bucket(verdicts)
    rows = [_row(str(n), [v for v in verdicts if v.endpoint == n], prices.get(n), bucket) for n in names]
    return sorted(rows, key=lambda r: -(r.quality.value if r.quality and r.quality.value is not None
                                        else -1.0))


def _est(e: Estimate | None, digits: int = 3) -> str:
    return e.fmt(digits) if e is not None else "–"


def quality_note(verdicts: Sequence[Verdict]) -> str | None:
    """What the quality column was measured on (the accuracy suite's task set), in one line."""
    for v in verdicts:
        if v.suite != "accuracy":
            continue
        for t in v.tests:
            if t.name == "task_set":
                d = t.detail
                left = int(d.get("not_scorable_offline") or 0)
                return (f"Quality measured on task set {d.get('spec')!s} "
                        f"(scorer {', '.join(str(x) for x in d.get('scorers') or [])}), "
                        f"{d.get('items')} items"
                        + (f"; {left} items not scorable offline, left out (listed in the "
                           "reference's verdict)." if left else "."))
    return None


def choice_table(rows: Sequence[ChoiceRow]) -> tuple[list[str], list[list[str]]]:
    """Header and text cells, shared by the HTML and Markdown renderers."""
    header = ["endpoint", "quality: accuracy [95% CI] (items)", "speed: output tokens/s p50 [95% CI]",
              "TTFT p50 s", "price $/Mtok in / out", "tokens in / out", "spent $"]
    body = []
    for r in rows:
        price = f"{r.price['input']:g} / {r.price['output']:g}" if r.price else "not configured"
        body.append([r.endpoint, _est(r.quality), _est(r.speed, 1) + (f" {r.speed_label}" if r.speed else ""),
                     _est(r.ttft), price, f"{r.tokens_prompt} / {r.tokens_completion}",
                     fmt_number(r.spent_usd) if r.spent_usd is not None else "–"])
    return header, body


def choice_json(run: RunRecord, verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    def dump(e: Estimate | None) -> dict[str, Any] | None:
        return e.model_dump(mode="json") if e is not None else None

    return [{"endpoint": r.endpoint, "quality_accuracy": dump(r.quality),
             "speed_tokens_per_s_p50": dump(r.speed), "speed_bucket": r.speed_label or None,
             "ttft_s_p50": dump(r.ttft), "price_usd_per_mtok": r.price,
             "tokens": {"prompt": r.tokens_prompt, "completion": r.tokens_completion},
             "spent_usd": r.spent_usd, "item_accuracy_spread": list(r.spread) if r.spread else None}
            for r in choice_rows(run, verdicts)]


def spend_json(verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    """Tokens and money per verdict (endpoint × suite)."""
    def val(v: Verdict, key: str) -> float | None:
        return v.metrics[key].value if key in v.metrics else None

    return [{"endpoint": v.endpoint, "suite": v.suite, "verdict": v.verdict.value, "requests": v.requests,
             "tokens_prompt": val(v, "tokens_prompt"), "tokens_completion": val(v, "tokens_completion"),
             "cost_usd": val(v, "cost_usd")} for v in verdicts]

"""Number formatting shared by the Markdown and HTML reports.

Every figure is shown with its interval and the count it rests on. An estimate
says what it is (``Estimate.kind``): proportions are shown in %, differences are
the effects drawn in the forest plot (:func:`shown_in_percent`, :func:`is_effect_estimate`).
Estimates stored before kinds existed have none; for those alone the metric's
name decides (:func:`is_proportion`, :func:`is_effect`).
"""

from __future__ import annotations

import json
from typing import Any

from parity.verdict import Estimate, EstimateKind, Outcome

_PROPORTION_PREFIXES = ("rate.", "finish_", "propensity", "k2vv_")
_PROPORTION_SUFFIXES = ("_rate", "_accuracy", "_agreement")
NONE = "—"


def is_proportion(name: str) -> bool:
    """Whether a metric is a proportion, shown in %; anything else is shown as a plain number.

    Proportions: names starting with ``rate.``, ``finish_``, ``propensity`` or
    ``k2vv_``, and names whose stem (the part before the first ``.``) ends with
    ``_rate``, ``_accuracy`` or ``_agreement`` (so ``bfcl_accuracy.simple`` is one).
    """
    if name.startswith(_PROPORTION_PREFIXES):
        return True
    return name.split(".", 1)[0].endswith(_PROPORTION_SUFFIXES)


def is_effect(name: str) -> bool:
    """Whether a metric is a candidate-minus-reference difference (drawn in the forest plot)."""
    return name.endswith("_diff") or name.startswith("excess_")


def shown_in_percent(name: str, e: Estimate) -> bool:
    """A proportion is shown in %; without a kind (stored before kinds), the name decides."""
    return e.kind is EstimateKind.PROPORTION if e.kind is not None else is_proportion(name)


def is_effect_estimate(name: str, e: Estimate) -> bool:
    """A difference, candidate minus reference; without a kind, the name decides."""
    return e.kind is EstimateKind.DIFFERENCE if e.kind is not None else is_effect(name)


def _digits(percent: bool, digits: int = 3) -> tuple[float, str, int]:
    # Mirrors Estimate.fmt, so a table cell reads exactly as the same figure in a reason.
    return (100.0, "%", max(digits - 2, 0)) if percent else (1.0, "", digits)


def fmt_value(e: Estimate, percent: bool) -> str:
    if e.value is None:
        return "n/a"
    scale, unit, d = _digits(percent)
    return f"{e.value * scale:.{d}f}{unit}"


def fmt_interval(e: Estimate, percent: bool) -> str:
    """``[low, high]``, with the level appended when it is not 95%."""
    if e.low is None or e.high is None:
        return NONE
    scale, unit, d = _digits(percent)
    text = f"[{e.low * scale:.{d}f}{unit}, {e.high * scale:.{d}f}{unit}]"
    if abs(e.level - 0.95) > 1e-9:
        text += f" ({e.level:.0%})"
    return text


def fmt_n(e: Estimate) -> str:
    return f"{e.k} of {e.n}" if e.k is not None else str(e.n)


def fmt_p(p: float | None) -> str:
    return NONE if p is None else f"{p:.3g}"


def fmt_number(x: float | None) -> str:
    return NONE if x is None else f"{x:.3g}"


def fmt_p_or_e(p: float | None, e: float | None) -> str:
    """The leaderboard's evidence column: the Holm-adjusted p, else the e-value."""
    if p is not None:
        return fmt_p(p)
    return f"e = {e:.3g}" if e is not None else NONE


def fmt_detail(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k}={as_text(v)}" for k, v in detail.items())


def as_text(v: Any, limit: int = 2000) -> str:
    """Any evidence value as text, cut to ``limit`` characters."""
    if isinstance(v, str):
        text = v
    elif isinstance(v, (dict, list, tuple)):
        text = json.dumps(v, ensure_ascii=False, default=str)
    else:
        text = str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


OUTCOME_RANK = {Outcome.REFERENCE: 0, Outcome.PASS: 1, Outcome.INCONCLUSIVE: 2, Outcome.ERROR: 3,
                Outcome.FAIL: 4}

HOW_TO_READ_INTRO = (
    "Each candidate endpoint is compared with the reference deployment, suite by suite, "
    "and gets one of four verdicts."
)
HOW_TO_READ: list[tuple[str, str]] = [
    ("fail", "at least one test rejects equality with the reference at level α, after Holm's "
     "correction for testing several things at once. The reasons say which; the failing "
     "examples show it."),
    ("pass", "tool calls: no test rejects, and every difference's 95% interval lies within the "
     "equivalence margin, so the endpoint is shown to match the reference within that margin. "
     "Conformance: every probe passed or is honestly unsupported. Equality: the whole request "
     "budget was spent and no test rejected; the stated power says how large a difference "
     "could still have been missed (a two-sample test never proves sameness)."),
    ("inconclusive", "neither: no difference was found, but the intervals are too wide to rule "
     "one out (or a probe could not tell). More cases or repeats would settle it."),
    ("error", "the run could not judge: the endpoint, or the reference, was unreachable or "
     "failing (refused, timed out, 5xx) for more than the allowed share of its requests. "
     "Not evidence about the model either way; the reasons say what failed."),
    ("unsupported", "(a probe) the endpoint does not offer what the probe needs, and says so or "
     "ignores it the way the reference does; it does not count against the endpoint."),
    ("not_applicable", "(a probe) the reference itself fails the probe or cannot exercise it, so "
     "there is nothing to compare a candidate with; shown apart, and it neither fails a candidate "
     "nor makes an otherwise clean one inconclusive."),
    ("reference", "the reference's own metrics. It is run twice, and its agreement with itself "
     "is the noise floor candidates are judged against, never 100%."),
    ("numbers", "every figure carries its 95% interval and the count n it rests on ('k of n' "
     "for a proportion). p-values in the verdict table are Holm-adjusted; the smallest is shown."),
]

REFERENCE_NOTE = (
    "Agreement and similarity figures on the reference compare its two runs with each other: "
    "that is the noise floor the candidates are judged against."
)

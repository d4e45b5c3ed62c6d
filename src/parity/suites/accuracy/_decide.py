"""The accuracy decision: item-paired differences into an anytime-valid confidence sequence.

Pure. ``d_i`` = candidate's mean score on item ``i`` minus the reference's
(each over its ``k`` repeats), items in the run's seeded order; the
betting confidence sequence of :class:`parity.stats.confseq.BettingCS`
(aGRAPA bets) bounds ``Δ = E[d]`` (over the population the items are drawn
from) at every look.

* **fail**: ``H0: Δ ≥ 0`` (the candidate is not worse) rejected at ``α``,
  one-sided: the capital process betting on ``Δ < 0`` reached ``1/α`` (the
  upper bound fell to 0 or below). Valid at any look, so stopping there keeps the error ``≤ α``.
* **pass**: the ``1 − 2α`` confidence sequence lies inside ``(−margin, +margin)``
  (an anytime-valid two one-sided tests equivalence).
* otherwise inconclusive; fail is checked first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from parity.stats.confseq import BettingCS

Scores = Mapping[str, Sequence[float]]


@dataclass(frozen=True)
class Design:
    alpha: float
    margin: float
    looks: tuple[int, ...]  # items compared at each look
    k: int


@dataclass
class Decision:
    outcome: str = "inconclusive"  # "fail", "pass" or "inconclusive"
    stopped_at: int | None = None  # items at the deciding look
    items: int = 0  # items paired so far
    diffs: list[float] = field(default_factory=list)
    lower: float = -1.0
    upper: float = 1.0
    max_e_value: float = 1.0
    looks: list[dict[str, float]] = field(default_factory=list)

    @property
    def p_value(self) -> float:
        """Anytime-valid p-value of ``H0: Δ ≥ 0``: ``1 / max e-value``."""
        return min(1.0, 1.0 / self.max_e_value)


def _diff(ref: Sequence[float], cand: Sequence[float]) -> float | None:
    if not ref or not cand:
        return None
    return sum(cand) / len(cand) - sum(ref) / len(ref)


def decide(order: Sequence[str], ref: Scores, cand: Scores, design: Design, sent: int) -> Decision:
    """Run the looks reached by ``sent`` items of the candidate; stop at the first decision.

    ``order`` is the item order of the plan; items one side never answered are skipped.
    """
    cs = BettingCS(design.alpha, low=-1.0, high=1.0, null=0.0)
    d = Decision()
    seen = 0
    for n in design.looks:
        if n > sent:
            break
        for item in order[seen:n]:
            x = _diff(ref.get(item, ()), cand.get(item, ()))
            if x is not None:
                cs.update(x)
                d.diffs.append(x)
        seen = n
        d.items, d.lower, d.upper, d.max_e_value = cs.n, cs.lower, cs.upper, cs.max_e_value
        d.looks.append({"items": n, "paired": cs.n, "lower": cs.lower, "upper": cs.upper,
                        "e_value": cs.e_value})
        if cs.n and cs.rejects_null():
            d.outcome, d.stopped_at = "fail", n
        elif cs.n and -design.margin < cs.lower and cs.upper < design.margin:
            d.outcome, d.stopped_at = "pass", n
        if d.stopped_at is not None:
            break
    return d

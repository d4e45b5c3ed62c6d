"""Exchangeability e-processes: is the candidate's answer the odd one among fresh reference answers?

Each round draws ``k >= 2`` fresh answers from the reference and one from the
candidate for the same prompt. Under H0 (the candidate serves the reference's
system) the ``k + 1`` answers are *exchangeable*: given the multiset of
answers, the candidate's is equally likely to sit in any of the ``k + 1``
slots. A permutation-equivariant outlyingness score ``s_i`` (how unlike the
others slot ``i``'s answer is) therefore has, given the multiset, conditional
mean ``s̄ = mean_i s_i`` at the candidate's slot, exactly, whatever the answer
distribution. The round's observation

    g = (s_cand − s̄) / max(max_i s_i − s̄, s̄ − min_i s_i)  ∈ [−1, 1]

(0 when all scores are equal: no odd one) has conditional mean 0 under H0, so
``Π_t (1 + λ g_t)`` with ``λ ∈ [0, 1)`` fixed before round ``t`` is a test
martingale; a mixture over several ``λ`` is one too. By Ville's inequality the
chance it ever reaches ``1/α`` is at most ``α``: the test may stop at any
round, on any data-dependent rule.

With exact-match similarity (``odd_one_out``) and ``k = 2`` this is the
"odd one out": a round counts only when exactly one answer differs from the
other two, and the candidate is that one with probability 1/3 under H0
(``g = 1``, else ``g = −1/2``). Greedy decoding makes a deterministic
reference's answers identical, so a faithful candidate is never the odd one
while a different quantization, template or sampler often is.

Assumption: per round, the reference's and the candidate's answers are
independent draws from one distribution given the prompt (and the past). A
nondeterministic reference (batching, prompt caches) keeps the test valid as
long as the candidate's variation is of the same kind; it is then part of H0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

__all__ = [
    "DEFAULT_BETS",
    "ExchangeableRankTest",
    "exchangeable_g",
    "odd_one_out_e",
    "odd_one_out_g",
    "outlyingness",
]

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)

# A mixture over fixed bets: near-optimal whether the candidate is the odd one in
# every round (large λ) or in a modest majority of rounds (small λ).
DEFAULT_BETS: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
_TOL = 1e-12


def outlyingness(pool: Sequence[T], similarity: Callable[[T, T], float]) -> list[float]:
    """``s_i = −Σ_{j≠i} sim(x_i, x_j)``: permutation-equivariant, larger = more unlike the rest."""
    n = len(pool)
    sims = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            sims[i][j] = sims[j][i] = float(similarity(pool[i], pool[j]))
    return [-sum(row) for row in sims]


def exchangeable_g(scores: Sequence[float], candidate: int) -> float:
    """The round's observation in ``[−1, 1]``: conditional mean 0 if the slots are exchangeable."""
    if len(scores) < 2 or not 0 <= candidate < len(scores):
        raise ValueError(f"need >= 2 scores and a slot in range, got {len(scores)} and {candidate}")
    if any(math.isnan(s) for s in scores):
        raise ValueError("scores must not be NaN")
    mean = sum(scores) / len(scores)
    scale = max(max(scores) - mean, mean - min(scores))
    if scale <= _TOL:
        return 0.0
    return min(max((scores[candidate] - mean) / scale, -1.0), 1.0)


def odd_one_out_g(reference: Sequence[H], candidate: H) -> float:
    """``g`` of one round under exact-match similarity (answers compared whole).

    With two reference answers: 1 if the candidate alone differs, −1/2 if one
    reference answer alone differs, 0 if all agree or all differ.
    """
    if len(reference) < 2:
        raise ValueError(f"need >= 2 reference answers, got {len(reference)}")
    pool = [*reference, candidate]
    counts = Counter(pool)
    # −(multiplicity − 1) is outlyingness() with the exact-match similarity, in O(n).
    return exchangeable_g([-float(counts[x] - 1) for x in pool], len(pool) - 1)


def odd_one_out_e(reference: Sequence[H], candidate: H, bet: float = 0.75) -> float:
    """One round's e-value ``1 + λ g``: the cheapest black-box sentinel tick.

    Needs ``k >= 2`` fresh reference answers and one candidate answer for the
    same request (greedy decoding). Under H0 its conditional expectation is 1;
    products of per-round e-values over rounds are a test martingale.
    """
    if not 0.0 <= bet < 1.0:
        raise ValueError(f"bet must be in [0, 1), got {bet}")
    return 1.0 + bet * odd_one_out_g(reference, candidate)


class ExchangeableRankTest:
    """Test martingale over rounds of ``g``: a uniform mixture of fixed one-sided bets.

    Wealth ``K_t = mean_j Π_{s<=t} (1 + λ_j g_s)``; rejects once ``K_t >= 1/α``.
    Rounds with ``g = 0`` (no odd one) leave it unchanged.
    """

    def __init__(self, bets: Sequence[float] = DEFAULT_BETS) -> None:
        if not bets or any(not 0.0 < b < 1.0 for b in bets):
            raise ValueError(f"bets must be a non-empty list in (0, 1), got {list(bets)}")
        self._bets = tuple(bets)
        self._log = [0.0] * len(self._bets)
        self._max_log_e = 0.0
        self.n = 0  # rounds observed
        self.decisive = 0  # rounds with g != 0
        self.candidate_odd = 0  # rounds with g > 0

    @property
    def log_e_value(self) -> float:
        m = max(self._log)
        return m + math.log(sum(math.exp(x - m) for x in self._log) / len(self._log))

    @property
    def e_value(self) -> float:
        x = self.log_e_value
        return math.inf if x > 709.0 else math.exp(x)

    @property
    def max_e_value(self) -> float:
        return math.inf if self._max_log_e > 709.0 else math.exp(self._max_log_e)

    def update(self, g: float) -> None:
        if not -1.0 - 1e-9 <= g <= 1.0 + 1e-9:  # also rejects NaN
            raise ValueError(f"observation must lie in [-1, 1], got {g}")
        g = min(max(g, -1.0), 1.0)
        self._log = [x + math.log1p(b * g) for x, b in zip(self._log, self._bets, strict=True)]
        self._max_log_e = max(self._max_log_e, self.log_e_value)
        self.n += 1
        self.decisive += g != 0.0
        self.candidate_odd += g > 0.0

    def rejects(self, alpha: float) -> bool:
        """Whether the wealth has ever reached ``1/α`` (sticky; Ville's inequality)."""
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        return self._max_log_e >= -math.log(alpha) - 1e-12

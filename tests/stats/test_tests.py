"""Exact tests and Holm's correction against scipy and worked examples."""

from __future__ import annotations

import itertools

import pytest
from scipy import stats as sps

from parity.stats.tests import Alternative, binom_upper, fisher_exact, holm, mcnemar_exact

ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "greater", "less")


def test_mcnemar_published_example() -> None:
    # Fagerland et al., ch. 8, Cavo et al. (2012): exact conditional P = 0.052479.
    assert mcnemar_exact(6, 16) == pytest.approx(0.052479, abs=5e-7)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_mcnemar_matches_binomtest(alternative: Alternative) -> None:
    for b, c in itertools.product(range(0, 15, 2), range(1, 15, 3)):
        expected = sps.binomtest(b, b + c, 0.5, alternative=alternative).pvalue
        assert mcnemar_exact(b, c, alternative) == pytest.approx(expected)


def test_mcnemar_direction_and_no_discordant_pairs() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(15, 2, "greater") < 0.01
    assert mcnemar_exact(15, 2, "less") > 0.99
    with pytest.raises(ValueError):
        mcnemar_exact(1, 2, "bigger")  # type: ignore[arg-type]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_fisher_matches_scipy(alternative: Alternative) -> None:
    for k1, k2 in itertools.product(range(0, 13, 3), range(0, 9, 2)):
        n1, n2 = 12, 9
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        expected = sps.fisher_exact(table, alternative=alternative).pvalue
        assert fisher_exact(k1, n1, k2, n2, alternative) == pytest.approx(min(1.0, expected))


def test_fisher_direction_and_edges() -> None:
    assert fisher_exact(9, 10, 1, 10, "greater") < 0.01
    assert fisher_exact(9, 10, 1, 10, "less") > 0.99
    assert fisher_exact(0, 0, 3, 10) == 1.0
    with pytest.raises(ValueError):
        fisher_exact(11, 10, 1, 10)


def test_holm_worked_example() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04,
    # then a running maximum: 0.02, 0.03, 0.06, 0.06.
    adjusted, rejected = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert rejected == [True, False, False, True]


def test_holm_caps_and_monotonicity() -> None:
    p = [0.9, 0.2, 0.001, 0.5, 0.2]
    adjusted, _ = holm(p, alpha=0.05)
    assert all(a <= 1.0 for a in adjusted)
    assert all(a >= raw for a, raw in zip(adjusted, p, strict=True))
    by_raw = [a for _, a in sorted(zip(p, adjusted, strict=True))]
    assert by_raw == sorted(by_raw)
    assert holm([], 0.05) == ([], [])
    with pytest.raises(ValueError):
        holm([1.5], 0.05)


def test_binom_upper() -> None:
    # k = 0 has the closed form 1 - (1 - level)^(1/n) ("rule of three" ≈ 3/n).
    assert binom_upper(0, 100, 0.95) == pytest.approx(1 - 0.05 ** (1 / 100))
    assert binom_upper(5, 5) == 1.0
    assert binom_upper(0, 0) == 1.0
    # Definition: at the bound, seeing k or fewer has probability 1 - level.
    upper = binom_upper(3, 40, 0.9)
    assert sps.binom.cdf(3, 40, upper) == pytest.approx(0.1)

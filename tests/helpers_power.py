"""Expected power of the statistical assertions of the integration tests, computed exactly:
what a test's case count is sized from (each test cites the figure next to its assertion).

A toolcall verdict is FAIL when Holm's correction rejects one of its ``TESTS`` tests at
``alpha``, i.e. when the smallest p-value is at most ``alpha / TESTS``; the power of one of the
tests at that level is therefore a lower bound on the power of the verdict.
"""

from __future__ import annotations

from scipy.stats import binom

from parity.stats import fisher_exact

TESTS = 6  # the toolcall verdict's family: McNemar x4, Fisher x2 (suites/toolcall/judge.py)
ALPHA = 0.05  # RunSettings.alpha's default, which the testbed's parity.toml keeps


def level(alpha: float = ALPHA, tests: int = TESTS) -> float:
    """The raw p-value that makes Holm reject at least one test of the family."""
    return alpha / tests


def fisher_power(n: int, p: float, n_ref: int, p_ref: float, at: float) -> float:
    """P(one-sided Fisher p <= at) for k ~ Bin(n, p) against k_ref ~ Bin(n_ref, p_ref)."""
    pk, pr = binom.pmf(range(n + 1), n, p), binom.pmf(range(n_ref + 1), n_ref, p_ref)
    total = 0.0
    for kr in range(n_ref + 1):
        if pr[kr] < 1e-12:
            continue
        # the p-value falls as k grows: find the smallest k that rejects
        for k in range(n + 1):
            if fisher_exact(k, n, kr, n_ref, "greater") <= at:
                total += pr[kr] * float(pk[k:].sum())
                break
    return total


def sign_test_p(n: int) -> float:
    """One-sided McNemar p-value when all ``n`` pairs are discordant one way (b = n, c = 0):
    a deterministic difference, such as a template that drops the tools from every prompt."""
    return 0.5**n


def smallest_n(power: float, at: float, ns: range, of: object) -> int:
    """The smallest n in ``ns`` whose ``of(n)`` (a power) reaches ``power``."""
    for n in ns:
        if of(n) >= power:  # type: ignore[operator]
            return n
    raise ValueError(f"no n in {ns} reaches power {power} at level {at}")

"""The case counts of the integration tests, checked against the power they were sized from
(helpers_power): pure arithmetic, no server."""

from __future__ import annotations

import pytest
from helpers_power import fisher_power, level, sign_test_p
from integration.test_toolcall_testbed import FEW


def test_few_cases_decide_a_difference_every_answer_shows() -> None:
    at = level()
    # template: every prompt shorter than the reference's -> b = FEW, c = 0
    assert sign_test_p(FEW) <= at
    assert sign_test_p(FEW - 8) <= at  # half the cases could fail to show it and still FAIL
    # a fault at rate 1.0: every answer a tool-call error, the reference's share up to 30%
    assert fisher_power(FEW, 1.0, 2 * FEW, 0.3, at) > 0.9999


@pytest.mark.parametrize("n", [FEW])
def test_the_fault_runs_are_no_larger_than_needed(n: int) -> None:
    # the smallest size with power >= 0.999 against a 30% reference share, and 4 to spare
    smallest = next(k for k in range(2, 64) if fisher_power(k, 1.0, 2 * k, 0.3, level()) >= 0.999)
    assert n <= smallest + 4, (n, smallest)

"""``must`` ends a probe's ``assess`` early with what ``answer`` said, and never escapes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parity.exchange import Exchange, ExchangeStatus
from parity.suites.conformance._probe import (
    INCONCLUSIVE,
    PASS,
    UNSUPPORTED,
    Assessment,
    Probe,
    Steps,
    answer,
    must,
)
from parity.suites.conformance.suite import default_probes


def _refused(case_id: str) -> Exchange:
    return Exchange(run_id="r", endpoint="e", suite="conformance", case_id=case_id, case_hash="h",
                    status=ExchangeStatus.HTTP_ERROR, http_status=400, error="unknown field",
                    request={"messages": []}, latency_s=0.1, started_at=datetime(2026, 1, 1, tzinfo=UTC))


class _Two(Probe):
    name = "test.two"
    description = "two answers, both needed"

    def assess(self, steps: Steps) -> Assessment:
        a = must(answer(steps, f"{self.name}/a"))
        b = must(answer(steps, f"{self.name}/b"))
        return Assessment(PASS, f"{a.case_id} and {b.case_id}")


def test_must_ends_with_what_answer_says() -> None:
    steps = Steps([_refused("test.two/a")])
    got = _Two().assess(steps)
    said = answer(steps, "test.two/a")
    assert isinstance(said, Assessment) and got == said and got.outcome is UNSUPPORTED
    # the first missing answer ends it, as the early returns did
    got = _Two().assess(Steps([]))
    assert got.outcome is INCONCLUSIVE and got.reason == "no answer recorded for test.two/a"


@pytest.mark.parametrize("probe", default_probes(), ids=lambda p: p.name)
def test_no_probe_lets_the_early_end_escape(probe: Probe) -> None:
    result = probe.judge(Steps([]), Steps([]))
    assert result.outcome in {INCONCLUSIVE, UNSUPPORTED, PASS} or result.outcome.value == "not_applicable"
    if type(probe).assess is not Probe.assess:  # the probes that judge by hand have none
        assert isinstance(probe.assess(Steps([])), Assessment)

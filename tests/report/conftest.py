"""Fixtures: a hand-built run and its verdicts (see report_samples)."""

from __future__ import annotations

import pytest

from parity.store import RunRecord
from parity.verdict import Verdict

from .report_samples import make_run, make_verdicts


@pytest.fixture
def run() -> RunRecord:
    return make_run()


@pytest.fixture
def verdicts() -> list[Verdict]:
    return make_verdicts()

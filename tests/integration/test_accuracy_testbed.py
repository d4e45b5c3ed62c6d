"""The accuracy suite against the real testbed (llama.cpp serving SmolLM2-135M).

q2 (Q2_K --pure weights, gibberish) must fail the accuracy suite; the replica
(identical configuration) must not. 40 builtin items, 4 repeats each: the
reference answers 160 requests, each candidate at most as many.
"""

from __future__ import annotations

import pytest

from parity.config import ParityConfig
from parity.runner import Runner
from parity.store import Store
from parity.suites.accuracy import AccuracySuite
from parity.verdict import Outcome

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


async def test_q2_fails_and_the_replica_does_not(testbed_config: ParityConfig, store: Store) -> None:
    cfg = ParityConfig(endpoints=[testbed_config.reference, testbed_config.endpoint("replica"),
                                  testbed_config.endpoint("q2")], run=testbed_config.run)
    suite = AccuracySuite(k=4, limit=40, batch=10)
    result = await Runner(cfg, [suite], store, new_run=True).run()
    by = {v.endpoint: v for v in result.verdicts}
    ref_acc = by[cfg.reference.name].metrics["accuracy"]
    assert ref_acc.value is not None and ref_acc.value > 0.2, ref_acc  # room to fall
    assert by["q2"].verdict is Outcome.FAIL, by["q2"].reasons
    assert by["q2"].requests < 160  # decided before the last batch
    assert by["replica"].verdict is not Outcome.FAIL, by["replica"].reasons

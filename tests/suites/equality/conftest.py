"""Fixtures of the equality suite's tests: a run against toy language models."""

from __future__ import annotations

import pytest
from helpers import make_config, transports
from helpers_lm import Run, lm_script, small_suite

from parity.fake import FakeEndpoint, Script
from parity.runner import Runner, RunResult
from parity.store import Store
from parity.suites.equality import EqualitySuite


@pytest.fixture
def run_equality(store: Store) -> Run:
    """``await run_equality({"cand": script}, seed=0)`` -> (RunResult, apps)."""

    async def run(candidates: dict[str, Script], *, seed: int = 0, suite: EqualitySuite | None = None,
                  reference: Script | None = None) -> tuple[RunResult, dict[str, FakeEndpoint]]:
        apps = {"ref": FakeEndpoint(reference or lm_script()),
                **{n: FakeEndpoint(s) for n, s in candidates.items()}}
        cfg = make_config("ref", *candidates, max_attempts=1)
        cfg.run.seed = seed
        runner = Runner(cfg, [suite or small_suite()], store, transport=transports(apps), new_run=True)
        return await runner.run(), apps

    return run

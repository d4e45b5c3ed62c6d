"""The conformance suite run in-process against fake endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from helpers import make_config, transports

from parity.fake import FakeEndpoint, Script, compliant_script
from parity.runner import Runner
from parity.store import Store
from parity.suites.conformance import ConformanceSuite
from parity.verdict import Verdict

Run = Callable[..., Any]


@pytest.fixture
def run_conformance(store: Store) -> Run:
    """``await run_conformance({"cand": script}, reference=script)`` -> verdicts by endpoint."""

    async def run(candidates: dict[str, Script], reference: Script | None = None,
                  suite: ConformanceSuite | None = None) -> dict[str, Verdict]:
        apps = {"ref": FakeEndpoint(reference or compliant_script()),
                **{name: FakeEndpoint(s) for name, s in candidates.items()}}
        cfg = make_config("ref", *candidates, max_attempts=1)
        result = await Runner(cfg, [suite or ConformanceSuite()], store,
                              transport=transports(apps)).run()
        return {v.endpoint: v for v in result.verdicts}

    return run

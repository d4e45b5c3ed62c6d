"""The tool-call suite against the real testbed (llama.cpp serving SmolLM2-135M).

The replica must not fail; q2 (broken weights), template (tools never reach the prompt) and
every tool-call fault mode of the fault proxy (rate 1.0) must fail, with the check that names
their fault.

Two runs, side by side on different servers, each sized from the power it needs
(helpers_power; figures next to the constants):
- ``CASES`` cases for the reference, the replica and q2: q2's failure is statistical;
- ``FEW`` cases for template and the fault endpoints, judged against the fault proxies' own
  upstream (``fault_upstream``, a second llama-server set up as the reference, named the run's
  reference): their differences are there in every answer, so few cases decide them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.config import EndpointConfig, ParityConfig
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.suite import ToolcallSuite
from parity.testbed.faults import FaultConfig, FaultMode, FaultSpec, create_app
from parity.verdict import Outcome, Verdict

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

# q2 against the reference, 80 cases (the reference twice): see test_case_sizes.py for the
# expected power of q2's verdict at this size, from the rates measured on this testbed.
CASES = 80
# Template and the fault modes, 16 cases: template's prompt is shorter on every case, so the
# prompt_tokens test has b = 16 discordant pairs of 16, p = 0.5**16 = 1.5e-5 <= 0.05/6 (Holm's
# first step): power 1. A fault at rate 1.0 makes every answer (all 16 offer tools) a tool-call
# error: one-sided Fisher 16/16 against even 30% of the reference's 32 has power > 0.99999
# (helpers_power.fisher_power(16, 1.0, 32, 0.3, 0.05 / 6)).
FEW = 16
EXPECTED = {
    # Broken weights: answers that never end, or calls the server cannot parse.
    "q2": {"finish_reason.length", "tool_call.trigger_rate", "tool_call.trigger_disagreement",
           "tool_call.invalid_json", "tool_call.markup_in_content", "tool_call.finish_reason_mismatch"},
    "template": {"prompt.token_count"},
    f"fault-{FaultMode.INVALID_JSON.value}": {"tool_call.invalid_json"},
    f"fault-{FaultMode.UNKNOWN_NAME.value}": {"tool_call.unknown_name"},
    f"fault-{FaultMode.SCHEMA_MISMATCH.value}": {"tool_call.schema_mismatch"},
    f"fault-{FaultMode.MARKUP_LEAK.value}": {"tool_call.markup_in_content"},
}
MODES = [FaultMode.INVALID_JSON, FaultMode.UNKNOWN_NAME, FaultMode.SCHEMA_MISMATCH, FaultMode.MARKUP_LEAK]
SIZE = {"replica": CASES, "q2": CASES} | {n: FEW for n in EXPECTED if n != "q2"}


async def _run(config: ParityConfig, cases: int, db: Path, transports: dict[str, Any]) -> list[Verdict]:
    store = Store(str(db))
    try:
        suite = ToolcallSuite(limit=cases, max_tokens=32)
        return (await Runner(config, [suite], store, transport=lambda ep: transports.get(ep.name)).run()).verdicts
    finally:
        store.close()


async def _all(base: ParityConfig, upstream: str, where: Path) -> dict[str, dict[str, Verdict]]:
    ref = base.reference
    own = ref.model_copy(update={"base_url": f"{upstream}/v1"})  # the fault upstream, as reference
    faults = [EndpointConfig(name=f"fault-{m.value}", base_url="http://fault-proxy.invalid/v1",
                             model=ref.model, timeout_s=ref.timeout_s, max_concurrency=ref.max_concurrency)
              for m in MODES]
    statistical = ParityConfig(endpoints=[ref, base.endpoint("replica"), base.endpoint("q2")], run=base.run)
    few = ParityConfig(endpoints=[own, base.endpoint("template"), *faults], run=base.run)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0)) as http:
        proxies = {
            f"fault-{m.value}": httpx.ASGITransport(create_app(  # type: ignore[arg-type]
                FaultConfig(upstream=upstream, faults=[FaultSpec(mode=m, rate=1.0)]), client=http))
            for m in MODES
        }
        runs = await asyncio.gather(_run(statistical, CASES, where / "statistical.db", {}),
                                    _run(few, FEW, where / "few.db", proxies))
    return {"statistical": {v.endpoint: v for v in runs[0]}, "few": {v.endpoint: v for v in runs[1]}}


@pytest.fixture(scope="module")
def runs(testbed_config: ParityConfig, fault_upstream: Any,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Verdict]]:
    upstream = fault_upstream.base_url.removesuffix("/v1")
    return asyncio.run(_all(testbed_config, upstream, tmp_path_factory.mktemp("toolcall")))


@pytest.fixture(scope="module")
def verdicts(runs: dict[str, dict[str, Verdict]]) -> dict[str, Verdict]:
    return {n: v for run in runs.values() for n, v in run.items() if n != "reference"}


def test_replica_does_not_fail(verdicts: dict[str, Verdict]) -> None:
    v = verdicts["replica"]
    assert v.verdict in (Outcome.PASS, Outcome.INCONCLUSIVE), v.reasons
    assert v.requests == CASES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unfaithful_endpoints_fail_with_the_right_check(verdicts: dict[str, Verdict], name: str) -> None:
    v = verdicts[name]
    print(name, [(t.name, t.p_value, t.detail) for t in v.tests])  # the counts the power is sized from
    assert v.verdict is Outcome.FAIL, v.reasons
    assert set(v.failing_checks) & EXPECTED[name], (v.failing_checks, v.reasons)
    assert v.p_value is not None and v.p_value <= v.alpha and v.requests >= SIZE[name]


def test_reference_noise_is_measured(runs: dict[str, dict[str, Verdict]]) -> None:
    for run, cases in (("statistical", CASES), ("few", FEW)):
        ref = runs[run]["reference"]
        assert ref.verdict is Outcome.REFERENCE and ref.requests == 2 * cases
        assert ref.metrics["trigger_agreement"].n == cases

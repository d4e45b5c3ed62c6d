"""The conformance suite against the real testbed (llama.cpp serving SmolLM2-135M).

The replica must fail no probe, and pass every probe the reference itself passes (or call it
unsupported): one run of the whole suite on the reference and the replica.

Each fault mode of the fault proxy, put at rate 1.0 in front of the fault proxies' own
upstream (``fault_upstream``: a second llama-server set up as the reference, so that fault
traffic never queues or batches with the reference's), must be caught by the probe meant for
it, by name. Each mode is its own run, of the probes that can show it only (``PROBES``), with
that upstream as the run's reference: every answer a fault endpoint is judged against comes
from the process behind its proxy. The fault runs and the replica's run go side by side
(different servers). The proxies run in-process (``create_app`` over an ASGI transport).

Requests planned (follow-ups at their most): 2 x 58 for the replica's run and 2 x (1 to 6) per
fault mode, 164 in all; one run of the whole suite on all 12 endpoints, every fault endpoint
through the reference's own server, planned 12 x 58 = 696.
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
from parity.suites.conformance import BUDGET, ConformanceSuite
from parity.testbed.faults import FaultConfig, FaultMode, FaultSpec, create_app
from parity.verdict import Outcome, ProbeOutcome, Verdict

# The slowest part is the replica's run: 58 requests each on two servers; at ~2-10 s a request
# on the shared 2-core machine that is 2-10 min. The cap turns a hang into a failure.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

# Which probe must catch each fault mode.
CAUGHT_BY: dict[FaultMode, str] = {
    FaultMode.INVALID_JSON: "tool_call.well_formed",
    FaultMode.UNKNOWN_NAME: "tool_call.well_formed",
    FaultMode.SCHEMA_MISMATCH: "tool_call.well_formed",
    FaultMode.MARKUP_LEAK: "content.leaked_markup",
    FaultMode.STREAM_LOST_DELTA: "stream.tool_calls_equivalent",
    FaultMode.STREAM_DUPLICATE_DELTA: "stream.tool_calls_equivalent",
    FaultMode.SAMPLING_OVERRIDE: "sampling.temperature_zero",
    FaultMode.CONTEXT_TRUNCATION: "context.needle",
    FaultMode.FOREIGN_SCRIPT: "content.foreign_script",
    FaultMode.REASONING_LEAK: "content.reasoning_delimiters",
}
# The probes each fault mode's run sends. A probe with cases of its own is enough alone; the
# cross-cutting ones (well_formed, leaked_markup, reasoning_delimiters) scan the answers of
# the others, so each gets the cheapest probe whose answers the mode rewrites: one greedy
# request offering tools, with tool_choice 'required' (the tool-call modes synthesise a call
# when the model makes none), or one greedy request without (a reasoning leak prefixes any
# answer). The other probes' outcomes on a fault endpoint are not what this test shows.
WITH_TOOLS, PLAIN = "tool_choice.required", "content.foreign_script"
PROBES: dict[FaultMode, tuple[str, ...]] = {
    m: (p, WITH_TOOLS) if p in ("tool_call.well_formed", "content.leaked_markup")
    else (p, PLAIN) if p == "content.reasoning_delimiters" else (p,)
    for m, p in CAUGHT_BY.items()
}


def _fault_name(mode: FaultMode) -> str:
    return f"fault-{mode.value}"


async def _run(config: ParityConfig, suite: ConformanceSuite, db: Path,
               transports: dict[str, Any] | None = None) -> dict[str, Verdict]:
    store = Store(str(db))
    try:
        runner = Runner(config, [suite], store, transport=lambda ep: (transports or {}).get(ep.name))
        return {v.endpoint: v for v in (await runner.run()).verdicts}
    finally:
        store.close()


async def _fault_run(base: ParityConfig, upstream: str, mode: FaultMode, http: httpx.AsyncClient,
                     db: Path) -> Verdict:
    # The run's reference: the proxy's own upstream (set up as the testbed's reference).
    reference = base.reference.model_copy(update={"base_url": f"{upstream}/v1"})
    name = _fault_name(mode)
    fault = EndpointConfig(name=name, base_url="http://fault-proxy.invalid/v1", model=reference.model,
                           timeout_s=reference.timeout_s, max_concurrency=reference.max_concurrency)
    proxy = httpx.ASGITransport(create_app(  # type: ignore[arg-type]
        FaultConfig(upstream=upstream, faults=[FaultSpec(mode=mode, rate=1.0)], annotate=True), client=http))
    config = ParityConfig(endpoints=[reference, fault], run=base.run)
    verdicts = await _run(config, ConformanceSuite(only=PROBES[mode]), db, {name: proxy})
    return verdicts[name]


async def _all(base: ParityConfig, upstream: str, where: Path) -> dict[str, Verdict]:
    pair = ParityConfig(endpoints=[base.reference, base.endpoint("replica")], run=base.run)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0)) as http:
        replica_run = _run(pair, ConformanceSuite(), where / "replica.db")
        fault_runs = [_fault_run(base, upstream, m, http, where / f"{m.value}.db") for m in FaultMode]
        replica, *faults = await asyncio.gather(replica_run, *fault_runs)
    return {**replica, **{v.endpoint: v for v in faults}}


@pytest.fixture(scope="module")
def verdicts(testbed_config: ParityConfig, fault_upstream: Any,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verdict]:
    """One collection for the whole module."""
    upstream = fault_upstream.base_url.removesuffix("/v1")
    return asyncio.run(_all(testbed_config, upstream, tmp_path_factory.mktemp("conformance")))


def _outcomes(v: Verdict) -> dict[str, ProbeOutcome]:
    return {p.name: p.outcome for p in v.probes}


def test_replica_passes_what_the_reference_passes(verdicts: dict[str, Verdict]) -> None:
    reference = verdicts["reference"]
    assert reference.verdict is Outcome.REFERENCE
    replica = verdicts["replica"]
    ref, rep = _outcomes(reference), _outcomes(replica)
    assert set(rep) == set(ref) and len(rep) >= 30  # the whole suite
    failed = {p.name: p.reason for p in replica.probes if p.outcome is ProbeOutcome.FAIL}
    assert failed == {}
    regressed = {n for n, o in ref.items() if o is ProbeOutcome.PASS
                 and rep[n] not in (ProbeOutcome.PASS, ProbeOutcome.UNSUPPORTED)}
    assert regressed == set(), {n: next(p.reason for p in replica.probes if p.name == n) for n in regressed}
    assert replica.verdict is not Outcome.FAIL
    assert replica.requests <= BUDGET and reference.requests <= BUDGET


@pytest.mark.parametrize("mode", list(FaultMode), ids=[m.value for m in FaultMode])
def test_each_fault_is_caught_by_its_probe(verdicts: dict[str, Verdict], mode: FaultMode) -> None:
    v = verdicts[_fault_name(mode)]
    name = CAUGHT_BY[mode]
    assert {p.name for p in v.probes} == set(PROBES[mode])
    result = next(p for p in v.probes if p.name == name)
    assert result.outcome is ProbeOutcome.FAIL, f"{mode.value}: {name} is {result.outcome.value}: {result.reason}"
    assert v.verdict is Outcome.FAIL and name in v.failing_checks

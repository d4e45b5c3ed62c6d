"""The equality suite end to end against toy language models behind fake endpoints."""

from __future__ import annotations

import httpx
import pytest
from helpers import make_config, transports
from helpers_lm import Run, lm_script, small_suite

from parity.client import ChatClient
from parity.fake import FakeEndpoint
from parity.runner import EndpointSender, Runner
from parity.store import Store
from parity.suites import get_suite
from parity.suites.equality import EqualitySuite, sample_seed
from parity.verdict import Outcome


def test_registered() -> None:
    assert isinstance(get_suite("equality"), EqualitySuite)


async def test_same_distribution_rarely_fails(run_equality: Run) -> None:
    outcomes = []
    for seed in range(8):
        result, _ = await run_equality({"cand": lm_script()}, seed=seed)
        outcomes.append(next(v for v in result.verdicts if v.endpoint == "cand").verdict)
    assert outcomes.count(Outcome.FAIL) <= 1
    assert outcomes.count(Outcome.PASS) >= 7


async def test_shift_is_detected_early(run_equality: Run) -> None:
    result, apps = await run_equality({"same": lm_script(), "shifted": lm_script(sharpen=2.0)})
    by = {v.endpoint: v for v in result.verdicts}
    # The reference answers the sampled plan only: no candidate lacks logprobs, so no greedy round.
    assert by["ref"].verdict is Outcome.REFERENCE and by["ref"].requests == 48 == len(apps["ref"].requests)
    assert "greedy_self_divergence" not in by["ref"].metrics
    assert by["shifted"].verdict is Outcome.FAIL
    # Sequential stopping: decided after the first batch, not the whole budget.
    assert by["shifted"].requests == 12 and len(apps["shifted"].requests) == 12
    assert by["shifted"].metrics["requests_to_decision"].value == 12
    assert by["shifted"].e_value is not None and by["shifted"].e_value >= 40
    assert by["same"].verdict is Outcome.PASS and by["same"].requests == 48
    assert by["same"].p_value is not None and by["same"].p_value > 0.05


async def test_mmd_fallback_without_logprobs(run_equality: Run) -> None:
    result, _ = await run_equality({"plain": lm_script(logprobs=False),
                                    "plain_shift": lm_script(sharpen=2.5, logprobs=False)},
                                   suite=small_suite(blackbox="mmd"))
    by = {v.endpoint: v for v in result.verdicts}
    assert [t.name for t in by["plain"].tests] == ["mmd_hamming_chars"]
    assert by["plain"].e_value is None and by["plain"].verdict is Outcome.PASS
    assert by["plain_shift"].verdict is Outcome.FAIL
    assert by["plain_shift"].tests[0].rejected and by["plain_shift"].requests < 48


async def test_samples_are_independent_per_endpoint(run_equality: Run) -> None:
    _, apps = await run_equality({"cand": lm_script()})
    ref_seeds = {b["seed"] for b in apps["ref"].requests if b["temperature"] == 1}
    cand_seeds = {b["seed"] for b in apps["cand"].requests}
    assert len(ref_seeds) == 48 and not ref_seeds & cand_seeds
    assert sample_seed(0, "cand", "x", 1) == sample_seed(0, "cand", "x", 1) != sample_seed(0, "cand", "x", 2)


@pytest.mark.parametrize(("sharpen", "stored", "total"), [(1.0, 18, 48), (2.0, 6, 12)])
async def test_resume_sends_identical_requests(store: Store, run_equality: Run, sharpen: float,
                                               stored: int, total: int) -> None:
    suite = small_suite()
    whole, whole_apps = await run_equality({"cand": lm_script(sharpen=sharpen)}, seed=3, suite=suite)
    assert len(whole_apps["cand"].requests) == total
    apps = {"ref": FakeEndpoint(lm_script()), "cand": FakeEndpoint(lm_script(sharpen=sharpen))}
    cfg = make_config("ref", "cand", max_attempts=1)
    cfg.run.seed = 3
    runner = Runner(cfg, [suite], store, transport=transports(apps), new_run=True)
    run, _ = runner.start()
    # Interrupted: the reference had finished, the candidate had stored some of its requests.
    for name, cases in (("ref", suite.reference_cases(cfg.run)), ("cand", suite.cases(cfg.run, "cand", 0, stored))):
        client = ChatClient(cfg.endpoint(name), transport=httpx.ASGITransport(apps[name]))
        sender = EndpointSender(run_id=run.id, suite="equality", client=client, store=store,
                                stored={}, progress=runner.progress)
        await sender.send_all((c, 0) for c in cases)
        await client.aclose()
    first = list(apps["cand"].requests)
    apps["cand"].requests.clear()
    again = Runner(cfg, [suite], store, transport=transports(apps))
    run2, resumed = again.start()
    assert resumed and run2.id == run.id
    result = await again.run(run2)
    assert result.sent["ref"] == 0
    sent_in_two = first + apps["cand"].requests
    assert sorted(map(str, sent_in_two)) == sorted(map(str, whole_apps["cand"].requests))
    v = {x.endpoint: x for x in result.verdicts}["cand"]
    w = {x.endpoint: x for x in whole.verdicts}["cand"]
    assert (v.verdict, v.requests, v.p_value) == (w.verdict, w.requests, w.p_value)


async def test_a_sender_without_reference_access_says_so(store: Store) -> None:
    cfg = make_config("ref", "cand")
    client = ChatClient(cfg.endpoint("cand"), transport=httpx.ASGITransport(FakeEndpoint(lm_script())))
    sender = EndpointSender(run_id="r", suite="equality", client=client, store=store, stored={},
                            progress=Runner(cfg, [], store).progress)
    with pytest.raises(RuntimeError, match="reference"):
        await sender.reference()
    await client.aclose()

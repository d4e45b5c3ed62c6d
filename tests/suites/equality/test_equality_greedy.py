"""The greedy odd-one-out black-box test: the pure decision, and the suite end to end on toy LMs."""

from __future__ import annotations

import pytest
from helpers_lm import Run, lm_script, small_suite

from parity.config import RunSettings
from parity.suites.equality import EqualitySuite
from parity.suites.equality._greedy import (
    Answers,
    GreedyPlan,
    decide_greedy,
    greedy_order,
    parse_id,
)
from parity.verdict import Outcome


def _answers(rounds: dict[int, list[str]]) -> Answers:
    return Answers(by_round=rounds)


def test_rejects_once_the_candidate_is_odd_often_enough() -> None:
    ref = _answers({j: ["r", "r"] for j in range(20)})
    cand = _answers({j: ["c"] for j in range(20)})
    d = decide_greedy(ref, cand, 0.05, 20)
    # Mixture of bets (0.25, 0.5, 0.75, 0.9): mean of (1 + b)^n first reaches 20 at n = 6.
    assert d.rejected and d.stopped_at == 6 and d.candidate_differs == 6
    assert d.p_value <= 0.05


def test_identical_answers_never_reject() -> None:
    ref = _answers({j: ["r", "r"] for j in range(50)})
    d = decide_greedy(ref, _answers({j: ["r"] for j in range(50)}), 0.05, 50)
    assert not d.rejected and d.test.e_value == 1.0 and d.p_value == 1.0 and d.test.n == 50


def test_reference_noise_counts_against_the_candidate_and_missing_rounds_are_skipped() -> None:
    ref = _answers({0: ["a", "b"], 1: ["a", "a"], 3: ["a", "a"]})
    cand = _answers({0: ["a"], 1: ["c"], 2: ["c"], 3: ["a"]})
    d = decide_greedy(ref, cand, 0.05, 4)
    assert d.test.n == 3 and d.reference_differs == 1 and d.candidate_differs == 1
    assert d.test.candidate_odd == 1 and d.test.decisive == 2


def test_plan_ids_and_order() -> None:
    order = greedy_order(0)
    assert len(order) == 56 and len(set(order)) == 56 and order != greedy_order(1)
    plan = GreedyPlan(order, 100)
    assert plan.prompt(56) == plan.prompt(0)
    assert parse_id(plan.case_id(3, None)) == (3, None) and parse_id(plan.case_id(3, 1)) == (3, 1)
    assert parse_id("cont-door#0") is None and parse_id("greedy:x:p") is None


def test_greedy_requests_are_temperature_zero_without_logprobs() -> None:
    suite = EqualitySuite(logprobs=False)
    settings = RunSettings(seed=0)
    assert suite.reference_cases(settings) == []  # greedy rounds are drawn on a candidate's demand
    ref = suite.greedy.reference(suite.greedy_plan(settings), 0)
    assert len(ref) == 200 and len({c.body["seed"] for c in ref}) == 200
    assert [c.id for c in suite.greedy.reference(suite.greedy_plan(settings), 0, 5, 7)] == [
        c.id for c in ref[10:14]]
    body = ref[0].body
    assert body["temperature"] == 0.0 and body["max_tokens"] == 32 and "logprobs" not in body


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="blackbox"):
        EqualitySuite(blackbox="nope")
    with pytest.raises(ValueError):
        EqualitySuite(greedy_tokens=0)


async def test_candidates_without_logprobs_get_the_greedy_test(run_equality: Run) -> None:
    result, apps = await run_equality({
        "same": lm_script(logprobs=False),
        "tilted": lm_script(logprobs=False, tilt=1.0),
        "override": lm_script(logprobs=False, ignores_temperature=True),
    })
    by = {v.endpoint: v for v in result.verdicts}
    assert by["ref"].metrics["greedy_self_divergence"].value == 0.0
    same = by["same"]
    assert same.verdict is Outcome.PASS and same.tests[0].name == "greedy_odd_one_out"
    assert same.e_value == 1.0 and same.requests == 1 + 48  # the sampled probe, then every round
    assert any("exchangeable" in r for r in same.reasons)
    assert any("completion tokens" in r for r in same.reasons)
    for name in ("tilted", "override"):
        v = by[name]
        assert v.verdict is Outcome.FAIL, name
        assert v.requests < 1 + 48 and v.requests == len(apps[name].requests)
        tokens = v.metrics["completion_tokens"].value
        assert tokens and any(f"{v.requests} candidate requests, {tokens:.0f} completion tokens" in r
                              for r in v.reasons)
        assert v.e_value is not None and v.e_value >= 20


async def test_no_logprobs_mode_skips_the_sampled_plan(run_equality: Run) -> None:
    result, apps = await run_equality({"tilted": lm_script(logprobs=False, tilt=1.0)},
                                      suite=small_suite(logprobs=False))
    assert all(b["temperature"] == 0.0 for a in apps.values() for b in a.requests)
    by = {v.endpoint: v for v in result.verdicts}
    tilted = by["tilted"]
    assert tilted.verdict is Outcome.FAIL and tilted.requests % 5 == 0 and tilted.requests < 48
    # The reference answered only the rounds the candidate asked, twice each, and nothing more.
    assert by["ref"].requests == len(apps["ref"].requests) == 2 * tilted.requests
    assert tilted.reference_requests == 2 * tilted.requests
    ref_tokens = tilted.metrics["reference_completion_tokens"].value
    assert ref_tokens and any(f"reference {2 * tilted.requests} requests, {ref_tokens:.0f} completion tokens"
                              in r for r in tilted.reasons)


async def test_greedy_rounds_of_the_reference_are_shared_and_sent_once(run_equality: Run) -> None:
    result, apps = await run_equality({"same": lm_script(logprobs=False),
                                       "same2": lm_script(logprobs=False),
                                       "tilted": lm_script(logprobs=False, tilt=1.0)},
                                      suite=small_suite(logprobs=False))
    by = {v.endpoint: v for v in result.verdicts}
    assert by["same"].verdict is by["same2"].verdict is Outcome.PASS
    seeds = [b["seed"] for b in apps["ref"].requests]
    assert len(seeds) == len(set(seeds)) == 2 * 48  # the longest candidate's rounds, each once
    assert result.sent["ref"] == 2 * 48


async def test_all_logprob_candidates_cost_the_reference_no_greedy_request(run_equality: Run) -> None:
    result, apps = await run_equality({"same": lm_script(), "shifted": lm_script(sharpen=2.0)},
                                      suite=small_suite())
    ref_bodies = apps["ref"].requests
    assert ref_bodies and all(b["temperature"] == 1 for b in ref_bodies)
    assert len(ref_bodies) == small_suite().budget == result.sent["ref"]


async def test_candidates_with_logprobs_keep_the_logprob_test(run_equality: Run) -> None:
    result, apps = await run_equality({"shifted": lm_script(sharpen=2.0)})
    v = {x.endpoint: x for x in result.verdicts}["shifted"]
    assert v.verdict is Outcome.FAIL and v.requests == 12
    assert all(b["temperature"] == 1 for b in apps["shifted"].requests)

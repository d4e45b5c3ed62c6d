"""The accuracy suite end to end against scripted fake endpoints with known accuracies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from helpers import make_config, transports

from parity.fake import Answer, FakeEndpoint
from parity.runner import Runner, RunResult
from parity.store import Store
from parity.suites import get_suite
from parity.suites.accuracy import AccuracySuite, Task
from parity.verdict import Outcome

TASKS = [Task(id=f"q{i}", prompt=f"What number is item {i}?", answer=str(i), scorer="numeric")
         for i in range(60)]


def _uniform(body: dict[str, Any]) -> float:
    digest = hashlib.sha256(f"{body['seed']}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def model(shift: float = 0.0) -> Callable[[dict[str, Any]], Answer]:
    """Item ``i`` is answered right with probability ``(i % 5) / 4 - shift``."""
    def script(body: dict[str, Any]) -> Answer:
        item = int(str(body["messages"][-1]["content"]).split("item ")[1].rstrip("?"))
        right = _uniform(body) < (item % 5) / 4 - shift
        return Answer(content=f"The answer is {item if right else item + 1000}.",
                      usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    return script


async def _run(store: Store, candidates: dict[str, float], seed: int = 0, k: int = 4
               ) -> tuple[RunResult, dict[str, FakeEndpoint]]:
    apps = {"ref": FakeEndpoint(model()), **{n: FakeEndpoint(model(s)) for n, s in candidates.items()}}
    cfg = make_config("ref", *candidates, max_attempts=1)
    cfg.run.seed = seed
    suite = AccuracySuite(tasks=TASKS, k=k, batch=10)
    runner = Runner(cfg, [suite], store, transport=transports(apps), new_run=True)
    return await runner.run(), apps


def test_registered_with_the_builtin_tasks() -> None:
    suite = get_suite("accuracy")
    assert isinstance(suite, AccuracySuite) and len(suite.tasks) == 80


async def test_worse_candidate_fails_early_and_same_is_not_failed(store: Store) -> None:
    result, apps = await _run(store, {"same": 0.0, "worse": 0.5})
    by = {v.endpoint: v for v in result.verdicts}
    assert by["ref"].verdict is Outcome.REFERENCE and by["ref"].requests == 240
    ref_acc = by["ref"].metrics["accuracy"]
    assert ref_acc.n == 60 and ref_acc.low is not None and ref_acc.low < 0.5 < ref_acc.high  # type: ignore[operator]
    worse = by["worse"]
    assert worse.verdict is Outcome.FAIL and worse.failing_checks == ["accuracy.worse_than_reference"]
    assert worse.requests < 240 and len(apps["worse"].requests) == worse.requests
    diff = worse.metrics["difference"]
    assert diff.high is not None and diff.high < 0
    assert worse.e_value is not None and worse.e_value >= 20
    assert by["same"].verdict is not Outcome.FAIL
    assert by["same"].metrics["difference_anytime"].low <= 0 <= by["same"].metrics["difference_anytime"].high  # type: ignore[operator]


async def test_same_seed_same_requests_same_decision(store: Store) -> None:
    first, _ = await _run(store, {"worse": 0.5}, seed=2)
    again, _ = await _run(store, {"worse": 0.5}, seed=2)
    a = next(v for v in first.verdicts if v.endpoint == "worse")
    b = next(v for v in again.verdicts if v.endpoint == "worse")
    assert (a.verdict, a.requests, a.e_value) == (b.verdict, b.requests, b.e_value)


async def test_repeats_are_independent_and_seeded(store: Store) -> None:
    _, apps = await _run(store, {"same": 0.0})
    ref_seeds = [b["seed"] for b in apps["ref"].requests]
    cand_seeds = {b["seed"] for b in apps["same"].requests}
    assert len(set(ref_seeds)) == len(ref_seeds) and not set(ref_seeds) & cand_seeds

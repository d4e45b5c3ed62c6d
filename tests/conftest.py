"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(str(tmp_path / "parity.db"))
    yield s
    s.close()


# The real testbed: llama.cpp servers built (cached) and brought up once per session,
# shared by every integration test that only sends requests; taken down at the end with a
# check that nothing is left running. A test that stops, restarts or switches variants
# brings up a testbed of its own (helpers_testbed.bring_up), never this one.
TESTBED_VARIANTS = ["reference", "replica", "q2", "template", "faults"]


@pytest.fixture(scope="session")
def real_testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from helpers_testbed import bring_up, take_down

    testbed = bring_up(tmp_path_factory.mktemp("testbed-run"), TESTBED_VARIANTS, log=print)
    try:
        yield testbed
    finally:
        take_down(testbed)


@pytest.fixture(scope="session")
def fault_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The fault proxies' own upstream: a second llama-server set up exactly as the reference
    (a testbed of its own holding one ``reference``), so that fault traffic never queues or
    batches with the reference's. A RunningVariant; tests that judge fault endpoints name it
    their reference too, so that every answer they compare comes from one process."""
    from helpers_testbed import bring_up, running, take_down

    testbed = bring_up(tmp_path_factory.mktemp("fault-upstream-run"), ["reference"])
    try:
        yield running(testbed)["reference"]
    finally:
        take_down(testbed)


@pytest.fixture(scope="session")
def testbed_config(real_testbed: Any, tmp_path_factory: pytest.TempPathFactory) -> object:
    from parity.config import load_config

    path = real_testbed.write_config(tmp_path_factory.mktemp("testbed-config") / "parity.toml")
    return load_config(path)

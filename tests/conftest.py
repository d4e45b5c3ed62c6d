"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(str(tmp_path / "parity.db"))
    yield s
    s.close()


# The real testbed: llama.cpp servers built (cached) and brought up once per
# session, shared by every integration test; taken down at the end with a
# check that nothing is left running.
TESTBED_VARIANTS = ["reference", "replica", "q2", "template", "faults"]


@pytest.fixture(scope="session")
def real_testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import os

    from parity.testbed import Testbed, build_llama_cpp, default_cache_dir, pid_alive, port_is_free

    cache = default_cache_dir(os.environ)
    build_llama_cpp(cache)
    testbed = Testbed(tmp_path_factory.mktemp("testbed-run"), cache, startup_timeout_s=300)
    try:
        testbed.up(TESTBED_VARIANTS)
        yield testbed
    finally:
        records = [s.record for s in testbed.status()]
        testbed.down()
        alive = [r.variant for r in records if pid_alive(r.pid, r.start_ticks)]
        busy = [r.port for r in records if not port_is_free(r.port)]
        assert not alive and not busy, f"left running after down: {alive}, ports {busy}"


@pytest.fixture(scope="session")
def testbed_config(real_testbed: object, tmp_path_factory: pytest.TempPathFactory) -> object:
    from parity.config import load_config

    path = real_testbed.write_config(tmp_path_factory.mktemp("testbed-config") / "parity.toml")  # type: ignore[attr-defined]
    return load_config(path)

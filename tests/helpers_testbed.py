"""Bringing up real testbeds (llama.cpp servers serving SmolLM2-135M) for integration tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from parity.testbed import (
    RunningVariant,
    ServerSettings,
    Testbed,
    build_llama_cpp,
    default_cache_dir,
    pid_alive,
    port_is_free,
)


def testbed_settings() -> ServerSettings:
    """One slot and no prompt cache: every request is computed alone and from scratch, so one
    request gets one answer from the reference, the replica and the fault proxies' upstream
    alike -- the tests do not make the nondeterminism they then judge. The context per slot
    stays the 2,048 tokens every variant declares."""
    return ServerSettings(parallel=1, ctx_size=2048, cache_prompt=False)


testbed_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def bring_up(run_dir: Path, variants: list[str], **kwargs: Any) -> Testbed:
    """A testbed in ``run_dir`` with ``variants`` up (built first if need be)."""
    cache = default_cache_dir(os.environ)
    build_llama_cpp(cache)
    kwargs.setdefault("log", lambda _: None)
    testbed = Testbed(run_dir, cache, settings=testbed_settings(), startup_timeout_s=300, **kwargs)
    testbed.up(variants)
    return testbed


def take_down(testbed: Testbed) -> None:
    """Down, and nothing of it left running or listening."""
    records = [s.record for s in testbed.status()]
    testbed.down()
    alive = [r.variant for r in records if pid_alive(r.pid, r.start_ticks)]
    busy = [r.port for r in records if not port_is_free(r.port)]
    assert not alive and not busy, f"left running after down: {alive}, ports {busy}"


def running(testbed: Testbed) -> dict[str, RunningVariant]:
    return {s.record.variant: s.record for s in testbed.status()}

"""Errors raised by the testbed, each phrased so that the user can act on it."""

from __future__ import annotations


class TestbedError(RuntimeError):
    """A testbed operation failed; the message says what to do next."""

    # Not a test class, whatever its name says: keeps pytest from collecting it.
    __test__ = False


class BuildError(TestbedError):
    """Building llama.cpp failed or cannot start (missing toolchain, download error)."""

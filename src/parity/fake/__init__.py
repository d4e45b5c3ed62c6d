"""A fake OpenAI-compatible endpoint, scriptable per test; shared by tests and benchmarks."""

from ._app import FakeEndpoint
from ._behaviors import (
    Answer,
    Behavior,
    Call,
    Garbage,
    HttpError,
    Script,
    Sequence_,
    Slow,
    default_script,
    example_value,
)
from ._compliant import CompliantScript, compliant_script, tampered
from ._server import free_port, serve

__all__ = [
    "Answer",
    "Behavior",
    "Call",
    "CompliantScript",
    "FakeEndpoint",
    "Garbage",
    "HttpError",
    "Script",
    "Sequence_",
    "Slow",
    "compliant_script",
    "default_script",
    "example_value",
    "free_port",
    "serve",
    "tampered",
]

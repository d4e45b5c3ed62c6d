"""Exit codes and results output: a contract CI jobs rely on (documented in the README's table).

One home for the rule; commands call :func:`verdict_exit` with their verdicts.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from parity.verdict import Outcome, Verdict


class ExitCode(enum.IntEnum):
    OK = 0  # every verdict passes (inconclusive too, without --strict)
    FAIL = 1  # some verdict is fail: evidence against an endpoint
    USAGE = 2  # usage or configuration error (typer's own code for bad options)
    INCONCLUSIVE = 3  # some verdict is inconclusive and --strict was given
    ERROR = 4  # the run could not judge: reference or candidate unreachable or failing
    INTERRUPTED = 130  # SIGINT; what was stored is kept


# First match wins: a definite fail outranks an endpoint that could not be judged,
# which outranks "more cases needed".
_ORDER: tuple[tuple[Outcome, ExitCode, bool], ...] = (
    (Outcome.FAIL, ExitCode.FAIL, False),
    (Outcome.ERROR, ExitCode.ERROR, False),
    (Outcome.INCONCLUSIVE, ExitCode.INCONCLUSIVE, True),
)


def verdict_exit(verdicts: Iterable[Verdict], *, strict: bool = False) -> ExitCode:
    """The exit code for a run's verdicts; ``strict`` makes inconclusive non-zero."""
    seen = {v.verdict for v in verdicts}
    for outcome, code, needs_strict in _ORDER:
        if outcome in seen and (strict or not needs_strict):
            return code
    return ExitCode.OK


def write_json(path: Path, payload: Any) -> str:
    """Write ``payload`` as indented JSON to ``path``, or to stdout when it is ``-``."""
    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2)
    if str(path) == "-":
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
        return "stdout"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)

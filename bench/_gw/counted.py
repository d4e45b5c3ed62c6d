"""``parity`` with a call counter (run as: python counted.py OUT parity-args...): cProfile starts on
SIGUSR2 and on SIGUSR1 stops and writes its total call count to OUT. Only counts are used: cProfile's
times are inflated and wall-clock. With PARITY_BENCH_PSTATS=DIR set, each stop also dumps the profile
to DIR/<pid>-<n>.prof (n counts the stops: one per mode) for ``pstats`` (callers, own calls)."""

from __future__ import annotations

import cProfile
import os
import pstats
import signal
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    out = Path(sys.argv.pop(1))
    prof = cProfile.Profile()

    def start(*_: Any) -> None:
        prof.enable()

    dump = os.environ.get("PARITY_BENCH_PSTATS")
    stops = [0]

    def stop(*_: Any) -> None:
        prof.disable()
        out.write_text(str(pstats.Stats(prof).total_calls))  # type: ignore[attr-defined]
        if dump:
            stops[0] += 1
            prof.dump_stats(str(Path(dump) / f"{os.getpid()}-{stops[0]}.prof"))
        prof.clear()

    signal.signal(signal.SIGUSR2, start)
    signal.signal(signal.SIGUSR1, stop)
    from parity.cli.main import main

    sys.argv[0] = "parity"
    sys.exit(main())

"""CPU cost per ':verified' request of following the watch: admission and headers, watch off vs on.

    PYTHONPATH=src python bench/watch_admission.py [--n 20000] [--repeats 11]

In-process, no network, no database on the path (the states are in the gateway's cache, as on
every request; the store is read by a background task every refresh_s): what one request
spends in the gateway's plan (admission of 3 endpoints: ejection, cool-down, verdicts, live
bounds and, when on, the watch's state and staleness) and in building the answer's headers
(`x-parity-verdict`, and `x-parity-excluded` when an endpoint is left out). Three cases side
by side in one run: the watch off (verdicts only); on with every endpoint healthy; on with
one endpoint changed. CPU time (process_time), median and range over repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.gateway import create_app, parse_gateway_config
from parity.gateway._gateway import ChatRequest
from parity.store import Store
from parity.verdict import Outcome, Verdict
from parity.watch import State, StateRow, TickRecord, Transition, WatchStore

NAMES = ["a", "b", "c"]


def _per_call_us(fn: Callable[[], None], n: int, repeats: int) -> tuple[float, float, float]:
    runs = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(runs), min(runs), max(runs)


def _store(path: Path, changed: str | None) -> Store:
    store = Store(str(path))
    store.save_verdicts("run", [Verdict(endpoint=n, suite="toolcall", verdict=Outcome.PASS, test="t", alpha=0.05,
                                        requests=10) for n in NAMES])
    ws = WatchStore(store)
    now = datetime.now(UTC)
    for i, n in enumerate(NAMES):
        state = State.CHANGED if n == changed else State.HEALTHY
        tid = f"w-{i:032d}"
        tr = Transition(id=f"{n}/sentinel/1", endpoint=n, suite="sentinel", seq=1, from_state=State.HEALTHY,
                        to_state=state, at=now, tick_id=tid, statistic=99.0, threshold=50.0, alarm=50.0, warn=4.0,
                        evidence_ticks=[tid], exchange_keys=[]) if n == changed else None
        ws.record_tick(TickRecord(id=tid, endpoint=n, stream="sentinel", index=i, scheduled_at=now, status="done",
                                  statistic=1.0, state=state),
                       StateRow(endpoint=n, stream="sentinel", state=state, seq=1 if tr else 0, quiet=0, tick_id=tid,
                                statistic=1.0, updated_at=now), tr)
    return store


def _case(tmp: Path, label: str, watch: bool, changed: str | None) -> tuple[str, Callable[[], None], Store]:
    store = _store(tmp / f"{label}.db", changed)
    cfg = parse_gateway_config({
        "endpoints": [{"name": n, "base_url": f"http://{n}.test/v1", "model": "m"} for n in NAMES],
        "models": [{"alias": "m", "endpoints": NAMES, "sticky": False}],
        "watch": {"enabled": watch}})
    gw = create_app(cfg, store=store).state.gateway
    req = ChatRequest(body={"model": "m:verified", "messages": [{"role": "user", "content": "hi"}]},
                      alias=cfg.models[0], verified=True, stream=False, tools=None, ignore=frozenset(),
                      sticky_key=None)

    def one() -> None:
        plan = gw.plan(req)
        up = plan.order[0]
        headers: dict[str, Any] = gw.served_headers(up, 1)
        if (excluded := plan.excluded_header()) is not None:
            headers["x-parity-excluded"] = excluded
    one()
    return label, one, store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=11)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        cases = [_case(Path(d), "watch off (verdicts only)", False, None),
                 _case(Path(d), "watch on, 3 healthy", True, None),
                 _case(Path(d), "watch on, 1 of 3 changed (x-parity-excluded built)", True, "b")]
        for _ in range(2):  # interleaved twice: drift of the machine's load hits every case alike
            for label, fn, _ in cases:
                rows.append((label, _per_call_us(fn, args.n, args.repeats)))
        for _, _, s in cases:
            s.close()
    print(f"n={args.n} calls x {args.repeats} repeats, each case measured twice (interleaved); "
          "CPU µs per ':verified' request: median [min, max]")
    print("| case | µs per request: median [min, max] |\n|---|---:|")
    for label, (med, lo, hi) in rows:
        print(f"| {label} | {med:.1f} [{lo:.1f}, {hi:.1f}] |")


if __name__ == "__main__":
    main()

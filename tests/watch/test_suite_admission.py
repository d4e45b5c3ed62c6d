"""The gateway's ':verified' admission follows the sentinel and (configurable) a changed suite state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.gateway._config import WatchSettings
from parity.gateway._watchbook import WatchBook
from parity.store import Store
from parity.watch import State, StateRow, TickRecord, Transition, WatchStore

T0 = 1_800_000_000.0


def _put(ws: WatchStore, endpoint: str, stream: str, state: State, at: float, stat: float, n: int) -> None:
    when = datetime.fromtimestamp(at, UTC)
    tid = f"w-{n:032d}"
    tr = None
    if state is not State.HEALTHY:
        tr = Transition(id=f"{endpoint}/{stream}/1", endpoint=endpoint, suite=stream, seq=1,
                        from_state=State.HEALTHY, to_state=state, at=when, tick_id=tid, statistic=stat,
                        threshold=20.0, alarm=20.0, warn=20.0, evidence_ticks=[tid], exchange_keys=[],
                        run_id="run-1" if stream == "toolcall" else None)
    rec = TickRecord(id=tid, endpoint=endpoint, stream=stream, index=n, scheduled_at=when, status="done",
                     statistic=stat, state=state)
    row = StateRow(endpoint=endpoint, stream=stream, state=state, seq=1 if tr else 0, quiet=0, tick_id=tid,
                   statistic=stat, updated_at=when)
    assert ws.record_tick(rec, row, tr)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(str(tmp_path / "w.db"))
    ws, n = WatchStore(s), 0
    for ep, sentinel, suite in (("a", State.HEALTHY, State.CHANGED), ("b", State.HEALTHY, State.RECOVERING),
                                ("c", State.CHANGED, State.HEALTHY), ("d", State.HEALTHY, None)):
        n += 1
        _put(ws, ep, "sentinel", sentinel, T0 - 60, 30.0 if sentinel is State.CHANGED else 1.5, n)
        if suite is not None:  # the suites ran a day ago: that must not make the endpoint stale
            n += 1
            _put(ws, ep, "toolcall", suite, T0 - 86400, 42.7 if suite is State.CHANGED else 1.0, n)
    return s


def test_a_changed_suite_takes_the_endpoint_out_by_default(store: Store) -> None:
    book = WatchBook(store, ["a", "b", "c", "d"], WatchSettings(enabled=True), lambda: T0)
    assert book.why_not("a") == "watch changed since 2027-01-14T08:00:00Z (toolcall, evidence 42.7)"
    assert book.why_not("b") is None  # a suite's recovering does not count: its sentinel is healthy
    assert book.why_not("c") == "watch changed since 2027-01-15T07:59:00Z (sentinel, e-CUSUM 30)"
    assert book.why_not("d") is None
    v = book.view("a")
    assert v is not None and v.stream == "toolcall" and not book.stale(v) and book.age(v) == 60
    assert book.header("a") == "watch=changed (since 2027-01-14T08:00:00Z; last tick 60s ago)"


def test_suites_false_follows_the_sentinel_only(store: Store) -> None:
    book = WatchBook(store, ["a", "b", "c"], WatchSettings(enabled=True, suites=False), lambda: T0)
    assert book.why_not("a") is None and book.why_not("b") is None
    assert (book.view("a") or pytest.fail()).stream == "sentinel"
    assert book.why_not("c") is not None


def test_an_endpoint_with_only_a_suite_state_is_judged_by_it(tmp_path: Path) -> None:
    s = Store(str(tmp_path / "o.db"))
    _put(WatchStore(s), "e", "toolcall", State.CHANGED, T0 - 10, 42.7, 1)
    _put(WatchStore(s), "f", "toolcall", State.HEALTHY, T0 - 10, 1.0, 2)
    book = WatchBook(s, ["e", "f"], WatchSettings(enabled=True), lambda: T0)
    assert (book.why_not("e") or "").startswith("watch changed since")
    assert book.view("f") is None  # no sentinel, no changed suite: the watch says nothing of it
    s.close()

"""WatchStore.states_since (the gateway's one query): each state with the time it was entered,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parity.store import Store
from parity.watch import State, StateRow, TickRecord, Transition, WatchStore

T0 = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def _tick(ws: WatchStore, n: int, endpoint: str, state: State, seq: int, moved_from: State | None) -> None:
    at = T0 + timedelta(minutes=n)
    tid = f"w-{n:032d}"
    tr = None if moved_from is None else Transition(
        id=f"{endpoint}/sentinel/{seq}", endpoint=endpoint, suite="sentinel", seq=seq, from_state=moved_from,
        to_state=state, at=at, tick_id=tid, statistic=9.0, threshold=8.0, alarm=8.0, warn=2.0,
        evidence_ticks=[tid], exchange_keys=[])
    rec = TickRecord(id=tid, endpoint=endpoint, stream="sentinel", index=n, scheduled_at=at, status="done",
                     statistic=9.0, state=state)
    assert ws.record_tick(rec, StateRow(endpoint=endpoint, stream="sentinel", state=state, seq=seq, quiet=0,
                                        tick_id=tid, statistic=9.0, updated_at=at), tr)


def test_states_since(store_url: str) -> None:
    store = Store(store_url)
    try:
        ws = WatchStore(store)
        _tick(ws, 1, "a", State.HEALTHY, 0, None)
        _tick(ws, 2, "b", State.SUSPECT, 1, State.HEALTHY)
        _tick(ws, 3, "b", State.CHANGED, 2, State.SUSPECT)
        _tick(ws, 4, "b", State.CHANGED, 2, None)  # stays changed: the latest transition still counts
        got = {row.endpoint: (row.state, row.updated_at.replace(tzinfo=UTC), since)
               for row, since in ws.states_since()}
        assert got == {"a": (State.HEALTHY, T0 + timedelta(minutes=1), None),
                       "b": (State.CHANGED, T0 + timedelta(minutes=4), T0 + timedelta(minutes=3))}
    finally:
        store.close()

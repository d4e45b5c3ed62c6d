"""store.aio: exchanges group-committed by the writer thread, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import event, text
from store.test_store import exchange, new_run

from parity.exchange import ExchangeStatus
from parity.store import Store
from parity.verdict import Outcome, Verdict


def inserts_seen(store: Store) -> list[tuple[str, int]]:
    """(thread name, rows) per INSERT into parity_exchanges."""
    seen: list[tuple[str, int]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO parity_exchanges"):
            seen.append((threading.current_thread().name, len(params) if many else 1))

    return seen


async def test_exchanges_are_committed_off_the_loop_and_all_kept(store_url: str) -> None:
    s = Store(store_url)
    run = new_run(s)
    seen = inserts_seen(s)
    got = await asyncio.gather(*(s.aio.add_exchange(exchange(run, f"h{i}")) for i in range(40)))
    assert got == [True] * 40
    assert sorted(x.case_hash for x in await s.aio.exchanges(run)) == sorted(f"h{i}" for i in range(40))
    assert seen and {name for name, _ in seen} == {"parity-store-writer"}
    s.close()


async def test_rows_arriving_while_a_commit_runs_share_the_next_one(tmp_path: Any) -> None:
    s = Store(str(tmp_path / "g.db"))
    run = new_run(s)
    seen = inserts_seen(s)
    entered, gate = threading.Event(), threading.Event()

    @event.listens_for(s.engine, "before_cursor_execute")
    def hold_first(*_: Any) -> None:
        if len(seen) == 1:
            entered.set()
            gate.wait(10)

    first = asyncio.ensure_future(s.aio.add_exchange(exchange(run, "first")))
    assert await asyncio.to_thread(entered.wait, 10)  # the writer is in the first INSERT, held
    rest = [asyncio.ensure_future(s.aio.add_exchange(exchange(run, f"h{i}"))) for i in range(30)]
    await asyncio.sleep(0)
    gate.set()
    assert await first and all(await asyncio.gather(*rest))
    assert [n for _, n in seen] == [1, 30]
    s.close()


async def test_a_key_already_stored_is_refused_alone(store_url: str) -> None:
    s = Store(store_url)
    run = new_run(s)
    assert await s.aio.add_exchange(exchange(run, "dup"))
    got = await asyncio.gather(
        s.aio.add_exchange(exchange(run, "dup", status=ExchangeStatus.TIMEOUT)),
        s.aio.add_exchange(exchange(run, "new")),
        s.aio.add_exchange(exchange(run, "new", status=ExchangeStatus.TIMEOUT)),
    )
    assert sorted(got) == [False, False, True]
    stored = {x.case_hash: x.status for x in s.exchanges(run)}
    assert stored["dup"] is ExchangeStatus.OK and set(stored) == {"dup", "new"}
    s.close()


async def test_a_database_error_reaches_the_caller(tmp_path: Any) -> None:
    s = Store(str(tmp_path / "e.db"))
    run = new_run(s)
    with s.engine.begin() as conn:
        conn.execute(text("DROP TABLE parity_exchanges"))
    with pytest.raises(Exception, match="parity_exchanges"):
        await s.aio.add_exchange(exchange(run, "h"))
    s.close()


def test_close_writes_what_is_queued(tmp_path: Any) -> None:
    s = Store(str(tmp_path / "c.db"))
    run = new_run(s)
    futures = [s.writer().submit(s.exchange_row(exchange(run, f"h{i}"))) for i in range(20)]
    s.close()
    assert all(f.result() for f in futures)
    s2 = Store(str(tmp_path / "c.db"))
    assert s2.count_exchanges(run) == 20
    with pytest.raises(RuntimeError, match="closed"):
        s.writer().submit({})
    s2.close()


async def test_an_in_memory_store_is_one_database_for_every_thread() -> None:
    s = Store("sqlite://")
    run = new_run(s)
    assert await s.aio.add_exchange(exchange(run, "h"))  # written by the writer thread
    assert [x.case_hash for x in await s.aio.exchanges(run)] == ["h"]  # read in a worker thread
    s.close()


async def test_every_operation_has_an_async_twin(store_url: str) -> None:
    s = Store(store_url)
    a = s.aio
    rec = await a.create_run(fingerprint="fp-async", parity_version="0", seed=1, reference="ref",
                             suites=["toolcall"], datasets={"toolcall": "abc"}, config={})
    found = await a.find_unfinished("fp-async")
    assert found is not None and found.id == rec.id == (await a.get_run(rec.id)).id
    assert await a.add_exchange(exchange(rec.id, "h")) and await a.count_exchanges(rec.id) == 1
    v = Verdict(endpoint="ep", suite="toolcall", verdict=Outcome.PASS, test="t", alpha=0.05, requests=1)
    await a.save_verdicts(rec.id, [v])
    assert await a.verdicts(rec.id) == [v] and await a.latest_verdicts("ep") == [v]
    await a.finish_run(rec.id)
    assert (await a.get_run(rec.id)).status == "complete" and rec.id in {r.id for r in await a.list_runs()}
    s.close()

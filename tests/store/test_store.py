"""The store on SQLite (default) and on the real PostgreSQL of this machine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from parity.exchange import Exchange, ExchangeStatus
from parity.store import Store, normalise_url
from parity.verdict import Estimate, Outcome, Verdict


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def exchange(run_id: str, h: str, repeat: int = 0, status: ExchangeStatus = ExchangeStatus.OK) -> Exchange:
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
    return Exchange(run_id=run_id, endpoint="ep", suite="toolcall", case_id=f"c-{h}", case_hash=h, repeat=repeat,
                    status=status, request={"messages": []}, response=body if status is ExchangeStatus.OK else None)


def new_run(s: Store, fp: str | None = None) -> str:
    return s.create_run(fingerprint=fp or uuid.uuid4().hex, parity_version="0", seed=1, reference="ref",
                        suites=["toolcall"], datasets={"toolcall": "abc"}, config={"endpoints": []}).id


def test_roundtrip_exchanges_and_verdicts(any_store: Store) -> None:
    run = new_run(any_store)
    assert any_store.add_exchange(exchange(run, "h1"))
    assert any_store.add_exchange(exchange(run, "h1", repeat=1))
    assert any_store.add_exchange(exchange(run, "h2", status=ExchangeStatus.TIMEOUT))
    got = any_store.exchanges(run)
    assert [(x.case_hash, x.repeat, x.status) for x in got] == [
        ("h1", 0, ExchangeStatus.OK), ("h1", 1, ExchangeStatus.OK), ("h2", 0, ExchangeStatus.TIMEOUT)]
    assert got[0].completion is not None and got[0].completion.content == "hi"
    v = Verdict(endpoint="ep", suite="toolcall", verdict=Outcome.PASS, test="t", alpha=0.05, requests=3,
                metrics={"m": Estimate(value=0.5, low=0.1, high=0.9, n=4)})
    any_store.save_verdicts(run, [v])
    any_store.save_verdicts(run, [v.model_copy(update={"verdict": Outcome.FAIL})])  # replaced, not added
    assert [x.verdict for x in any_store.verdicts(run)] == [Outcome.FAIL]
    assert any_store.latest_verdicts("ep")[-1].verdict is Outcome.FAIL


def test_same_key_is_stored_once(any_store: Store) -> None:
    run = new_run(any_store)
    assert any_store.add_exchange(exchange(run, "h"))
    assert not any_store.add_exchange(exchange(run, "h", status=ExchangeStatus.TIMEOUT))
    (only,) = any_store.exchanges(run)
    assert only.status is ExchangeStatus.OK


def test_unfinished_run_is_found_by_fingerprint(any_store: Store) -> None:
    fp = uuid.uuid4().hex
    run = new_run(any_store, fp)
    assert any_store.find_unfinished(fp).id == run  # type: ignore[union-attr]
    any_store.finish_run(run)
    assert any_store.find_unfinished(fp) is None
    rec = any_store.get_run(run)
    assert rec.status == "complete" and rec.datasets == {"toolcall": "abc"} and rec.finished_at
    latest = any_store.find_latest(fp)  # a complete run is still found: the rerun reuses it
    assert latest is not None and latest.id == run and latest.status == "complete"
    assert any_store.find_latest(uuid.uuid4().hex) is None


def test_unknown_run_is_a_clear_error(any_store: Store) -> None:
    with pytest.raises(KeyError, match="no run 'nope'"):
        any_store.get_run("nope")


def test_redaction_applies_to_everything_stored(tmp_path: Path) -> None:
    s = Store(str(tmp_path / "r.db"), redact=lambda t: t.replace("SECRET", "***"))
    run = new_run(s)
    ex = exchange(run, "h")
    ex.error = "echo SECRET"
    s.add_exchange(ex)
    s.close()
    assert b"SECRET" not in (tmp_path / "r.db").read_bytes()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    s = Store(str(tmp_path / "w.db"))
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_url_normalisation() -> None:
    assert normalise_url("x.db") .startswith("sqlite:///")
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"

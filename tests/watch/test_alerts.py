"""Webhook alerts against a real HTTP server on 127.0.0.1: delivery, retries, no duplicates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parity.fake import serve
from parity.store import Store
from parity.watch import (
    AlertPolicy,
    AlertSender,
    State,
    TickRecord,
    Transition,
    WatchStore,
    alert_body,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SECRET = "hook-token-MARKER-1234"


class Receiver:
    """Answers with the statuses given, in order, then 200; records what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[dict[str, Any], str | None]] = []
        self.app = Starlette(routes=[Route("/hook/{token}", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.got.append((orjson.loads(await request.body()), request.headers.get("idempotency-key")))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)


def _transition(seq: int) -> Transition:
    return Transition(id=f"cand/sentinel/{seq}", endpoint="cand", suite="sentinel", seq=seq,
                      from_state=State.SUSPECT, to_state=State.CHANGED, at=T0, tick_id=f"w-{seq}",
                      statistic=250.0, threshold=200.0, alarm=200.0, warn=20.0, evidence_ticks=["w-1"],
                      exchange_keys=["w-1/cand/sentinel/abc/0"])


def _stored(tmp_path: Path, n: int = 1) -> WatchStore:
    ws = WatchStore(Store(str(tmp_path / "w.db")))
    for seq in range(1, n + 1):
        t = _transition(seq)
        rec = TickRecord(id=t.tick_id, endpoint="cand", stream="sentinel", index=seq, scheduled_at=T0,
                         status="done")
        assert ws.record_tick(rec, transition=t, alert=alert_body(t))
    return ws


async def _no_sleep(_s: float) -> None:
    pass


POLICY = AlertPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.01, timeout_s=5)


async def test_delivers_once_with_the_body_and_key(tmp_path: Path) -> None:
    ws = _stored(tmp_path, 2)
    rx = Receiver([])
    with serve(rx.app) as base:
        sender = AlertSender(ws, POLICY, f"{base}/hook/{SECRET}", sleep=_no_sleep)
        await sender.drain()
        await sender.drain()  # a second pass (or a restart) sends nothing again
    assert [key for _, key in rx.got] == ["cand/sentinel/1", "cand/sentinel/2"]
    body = rx.got[0][0]
    assert body["endpoint"] == "cand" and body["state"] == "changed" and body["statistic"] == 250.0
    assert body["evidence"]["exchanges"] == ["w-1/cand/sentinel/abc/0"]
    assert {a.status for a in ws.alerts()} == {"delivered"}


async def test_retries_with_backoff_then_delivers(tmp_path: Path) -> None:
    ws = _stored(tmp_path)
    rx = Receiver([503, 429])
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    with serve(rx.app) as base:
        await AlertSender(ws, AlertPolicy(max_attempts=5, base_delay_s=1, max_delay_s=30),
                          f"{base}/hook/{SECRET}", sleep=sleep).drain()
    assert len(rx.got) == 3 and waits == [1.0, 2.0]
    assert ws.alerts()[0].status == "delivered" and ws.alerts()[0].attempts == 3


async def test_undeliverable_is_recorded_without_the_url(tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    ws = _stored(tmp_path)
    rx = Receiver([500, 500, 500, 500])
    with caplog.at_level(logging.INFO, logger="parity.watch"), serve(rx.app) as base:
        await AlertSender(ws, POLICY, f"{base}/hook/{SECRET}", sleep=_no_sleep).drain()
    row = ws.alerts()[0]
    assert (row.status, row.attempts, row.last_error) == ("undeliverable", 3, "HTTP 500")
    assert len(rx.got) == 3
    assert "undeliverable" in caplog.text and SECRET not in caplog.text


async def test_a_client_error_is_not_retried(tmp_path: Path) -> None:
    ws = _stored(tmp_path)
    rx = Receiver([404])
    with serve(rx.app) as base:
        await AlertSender(ws, POLICY, f"{base}/hook/{SECRET}", sleep=_no_sleep).drain()
    assert len(rx.got) == 1 and ws.alerts()[0].status == "undeliverable"


async def test_unreachable_receiver_is_retried_then_recorded(tmp_path: Path) -> None:
    from parity.fake import free_port

    ws = _stored(tmp_path)
    await AlertSender(ws, POLICY, f"http://127.0.0.1:{free_port()}/hook/{SECRET}", sleep=_no_sleep).drain()
    row = ws.alerts()[0]
    assert row.status == "undeliverable" and row.last_error == "ConnectError" and row.attempts == 3


async def test_without_a_url_alerts_are_only_logged(tmp_path: Path) -> None:
    ws = _stored(tmp_path)
    await AlertSender(ws, POLICY, None).drain()
    assert ws.alerts()[0].status == "logged"


async def test_resumes_attempts_after_a_restart(tmp_path: Path) -> None:
    ws = _stored(tmp_path)
    ws.mark_alert("cand/sentinel/1", "pending", 2, "HTTP 503")  # two attempts before a kill
    rx = Receiver([503])
    with serve(rx.app) as base:
        await AlertSender(ws, POLICY, f"{base}/hook/{SECRET}", sleep=_no_sleep).drain()
    assert len(rx.got) == 1 and ws.alerts()[0].status == "undeliverable"

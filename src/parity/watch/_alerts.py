"""Alerts: a webhook POST per state transition, delivered off the watch loop.

A transition and its alert row are stored in the tick's transaction (status
``pending``): an outbox. The :class:`AlertSender` task delivers pending
alerts, retrying with exponential backoff. Before each POST the row is moved
to ``sending`` (a conditional update: only one sender gets it), after it to
``delivered``, ``pending`` (retry) or ``undeliverable``; so a restarted watch
resumes where it stopped and never re-sends a delivered alert. A row found
in ``sending`` when a sender starts was cut off mid-POST by a crash: it may
or may not have arrived. By default it is not sent again (``unconfirmed``,
logged as an error) — no alert is ever sent twice; with
``resend_unconfirmed`` it goes back to ``pending`` (at least once), and the
``Idempotency-Key: <transition id>`` header lets the receiver drop the copy.
The webhook URL may hold a token: it is never logged or stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from ._config import AlertPolicy
from ._detect import Transition
from ._store import AlertRow, WatchStore

__all__ = ["AlertSender", "alert_body"]

logger = logging.getLogger("parity.watch")
Sleep = Callable[[float], Awaitable[None]]
_RETRY_STATUS = frozenset({408, 425, 429})


def alert_body(t: Transition) -> dict[str, Any]:
    """The webhook's JSON body for one transition."""
    return {
        "schema_version": 1,
        "id": t.id,
        "endpoint": t.endpoint,
        "suite": t.suite,
        "state": t.to_state.value,
        "from_state": t.from_state.value,
        "at": t.at.isoformat(),
        "statistic": t.statistic,
        "threshold": t.threshold,
        "alarm": t.alarm,
        "reference_state": t.reference_state.value if t.reference_state else None,
        "evidence": {"ticks": t.evidence_ticks, "exchanges": t.exchange_keys,
                     **({"run": t.run_id, "verdict": t.verdict} if t.run_id is not None else {})},
    }


def log_transition(t: Transition) -> None:
    """One structured log line per transition (JSON after the event name)."""
    line = orjson.dumps({k: v for k, v in alert_body(t).items() if k != "evidence"}).decode()
    level = logging.WARNING if t.to_state.value in ("changed", "suspect") else logging.INFO
    logger.log(level, "watch.transition %s", line)


class AlertSender:
    """Delivers stored alerts; ``notify()`` wakes it, ``run()`` is its task."""

    def __init__(self, store: WatchStore, policy: AlertPolicy, url: str | None, *,
                 http: httpx.AsyncClient | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self._store = store
        self._policy = policy
        self._url = url
        self._http = http
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._recovered = False

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver pending alerts until cancelled."""
        while True:
            await self.drain()
            await self._wake.wait()
            self._wake.clear()

    async def recover(self) -> None:
        """Settle the alerts a crashed sender left mid-POST (run once, before sending)."""
        self._recovered = True
        for row in await asyncio.to_thread(self._store.alerts, ["sending"]):
            if self._policy.resend_unconfirmed:
                status, note = "pending", "a POST was cut off by a crash; sending again"
            else:
                status, note = "unconfirmed", "a POST was cut off by a crash; not sent again"
                logger.error("watch.alert unconfirmed %s: %s", row.key, note)
            await asyncio.to_thread(self._store.mark_alert, row.key, status, row.attempts, note)

    async def drain(self) -> None:
        """Deliver every pending alert once (with its retries)."""
        if not self._recovered:
            await self.recover()
        http = self._http or httpx.AsyncClient(timeout=self._policy.timeout_s)
        try:
            for row in await asyncio.to_thread(self._store.alerts, ["pending"]):
                await self._deliver(http, row)
        finally:
            if self._http is None:
                await http.aclose()

    async def _deliver(self, http: httpx.AsyncClient, row: AlertRow) -> None:
        mark = self._store.mark_alert
        if self._url is None:
            await asyncio.to_thread(mark, row.key, "logged", row.attempts)
            return
        attempts = row.attempts
        while attempts < self._policy.max_attempts:
            if not await asyncio.to_thread(self._store.claim_alert, row.key, attempts):
                return  # another sender has it, or it was settled meanwhile
            attempts += 1
            error, retry = await self._post(http, row)
            if error is None:
                await asyncio.to_thread(mark, row.key, "delivered", attempts)
                logger.info("watch.alert delivered %s after %d attempt(s)", row.key, attempts)
                return
            final = not retry or attempts >= self._policy.max_attempts
            await asyncio.to_thread(mark, row.key, "undeliverable" if final else "pending", attempts, error)
            if final:
                logger.error("watch.alert undeliverable %s: %s", row.key, error)
                return
            await self._sleep(self._policy.delay(attempts))

    async def _post(self, http: httpx.AsyncClient, row: AlertRow) -> tuple[str | None, bool]:
        """``(error, retryable)``; error None when delivered. Errors name no URL."""
        assert self._url is not None
        try:
            r = await http.post(self._url, content=orjson.dumps(row.body),
                                headers={"content-type": "application/json", "idempotency-key": row.key},
                                timeout=self._policy.timeout_s)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}", True
        if 200 <= r.status_code < 300:
            return None, False
        retry = r.status_code >= 500 or r.status_code in _RETRY_STATUS
        return f"HTTP {r.status_code}", retry

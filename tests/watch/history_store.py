"""A store with watch history, written by the real watch loop over fake endpoints (simulated clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from helpers import make_config

from parity.store import Store
from parity.watch import WatchConfig, WatchService

from .watch_fakes import Served, fake

START = datetime(2026, 3, 1, tzinfo=UTC)
SECRET = "sk-history-secret-0123456789"


def watch_config() -> WatchConfig:
    return WatchConfig.model_validate({"arl_days": 200 / 1440, "warn_arl_days": 20 / 1440,
                                       "recovery_minutes": 5, "window_hours": 2,
                                       "reference_lag_hours": 5 / 60, "jitter": 0.3,
                                       "sentinel": {"period_minutes": 1.0, "prompts": 3}})


async def fill(db: str, minutes: int = 20, switch_at: int = 10) -> None:
    """``switch_at`` healthy minutes, then the candidate switches: ticks, a `changed` transition.

    The candidate's key is :data:`SECRET` (the store masks it)."""
    served = {"ref": Served(name="ref"), "cand": Served(name="cand")}
    apps = {k: fake(v) for k, v in served.items()}
    now = [START]
    svc = WatchService(make_config("ref", "cand"), watch_config(),
                       Store(db, redact=lambda s: s.replace(SECRET, "***")),
                       keys={"cand": SECRET}, clock=lambda: now[0],
                       transport=lambda e: httpx.ASGITransport(apps[e.name]))  # type: ignore[arg-type]
    for minute in range(minutes):
        if minute == switch_at:
            served["cand"].shift, served["cand"].calls = 0.2, False
        for _ in range(4):  # finer than the jitter, so that no tick is missed
            now[0] += timedelta(seconds=15)
            await svc.run_once()
    await svc.aclose()
    svc.store.store.close()

"""The jittered schedule and the daily budget (pure, a fixed clock)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from parity.watch import Cost, Ticks, over_budget

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_ticks_are_deterministic_ordered_and_about_one_period_apart() -> None:
    s = Ticks("a", "sentinel", period_s=300, jitter=0.5, seed=1)
    ticks = s.between(NOW, NOW + timedelta(days=1))
    assert 287 <= len(ticks) <= 289
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(ticks)]
    assert all(150 <= g <= 450 for g in gaps)
    assert min(gaps) < 280 and max(gaps) > 320  # the jitter moves them
    assert ticks == Ticks("a", "sentinel", period_s=300, jitter=0.5, seed=1).between(
        NOW, NOW + timedelta(days=1))
    assert len({t.id for t in ticks}) == len(ticks)


def test_latest_and_after_bracket_now() -> None:
    s = Ticks("a", "sentinel", period_s=60, jitter=0.9)
    for minutes in range(0, 600, 7):
        now = NOW + timedelta(minutes=minutes, seconds=13)
        last, nxt = s.latest(now), s.after(now)
        assert last.at <= now < nxt.at
        assert nxt.index == last.index + 1


def test_endpoints_are_not_in_lockstep() -> None:
    a = Ticks("a", "sentinel", period_s=300).latest(NOW)
    b = Ticks("b", "sentinel", period_s=300).latest(NOW)
    assert a.at != b.at
    assert a.id != Ticks("a", "toolcall", period_s=300).latest(NOW).id


def test_tick_id_depends_on_endpoint_and_time_only() -> None:
    t = Ticks("a", "sentinel", period_s=300, seed=3).latest(NOW)
    assert t.id.startswith("w-") and len(t.id) == 34
    assert t.day == t.at.date()


def test_budget() -> None:
    assert over_budget(Cost(90, 900), Cost(10, 100), 100, 1000) is None
    why = over_budget(Cost(91, 0), Cost(10, 0), 100, 1000)
    assert why is not None and why.startswith("requests")
    why = over_budget(Cost(0, 950), Cost(1, 100), 100, 1000)
    assert why is not None and why.startswith("tokens")
    assert Cost(1, 2) + Cost(3, 4) == Cost(4, 6)


def test_bad_schedule() -> None:
    with pytest.raises(ValueError):
        Ticks("a", "s", period_s=0)
    with pytest.raises(ValueError):
        Ticks("a", "s", period_s=1, jitter=1.0)

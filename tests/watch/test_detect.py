"""The e-detector's false-alarm guarantee and its power, by seeded simulation; the state machine."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from parity.watch import Detector, Levels, Monitor, State

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _h0(rng: random.Random, m: int) -> list[float]:
    # Symmetric about zero, heavy at the ends: the hardest bounded noise for a bettor.
    return [rng.choice((-1.0, 1.0)) * rng.random() ** 0.5 for _ in range(m)]


def _run_until_alarm(rng: random.Random, alarm: float, horizon: int, window: int, m: int) -> int | None:
    det = Detector(window=window)
    for t in range(horizon):
        if det.tick(str(t), _h0(rng, m)) >= alarm:
            return t + 1
    return None


def test_false_alarms_under_h0_respect_the_arl_bound() -> None:
    # P(alarm within N ticks) <= N / A. With N = 300, A = 3000 that is <= 0.1 per run;
    # over 40 independent runs, 12 or more alarms has probability < 1e-4 if the bound holds.
    rng = random.Random(12)
    alarms = sum(_run_until_alarm(rng, 3000.0, 300, 60, 3) is not None for _ in range(40))
    assert alarms <= 11


def test_alarm_rate_under_h0_with_restarts_is_at_most_one_per_arl() -> None:
    # A = 50 ticks: over 3000 ticks, restarting after each alarm, the renewal count has
    # mean <= 3000 / 50 = 60; an e-detector computed wrongly (e.g. a wealth that is not
    # a supermartingale) alarms far more often. 100 is > 5 sd above the bound.
    rng = random.Random(7)
    det, alarms = Detector(window=40), 0
    for t in range(3000):
        if det.tick(str(t), _h0(rng, 2)) >= 50.0:
            alarms += 1
            det.reset()
    assert alarms <= 100


def test_an_overbetting_detector_would_fail_the_same_check() -> None:
    # The test above can fail: a statistic inflated 25-fold (judged against 2 instead
    # of 50, i.e. a broken calibration) alarms well over the bound.
    rng = random.Random(7)
    det, alarms = Detector(window=40), 0
    for t in range(3000):
        if det.tick(str(t), _h0(rng, 2)) >= 2.0:
            alarms += 1
            det.reset()
    assert alarms > 100


def test_detects_a_shift_soon_after_it_happens() -> None:
    rng = random.Random(3)
    det = Detector(window=200)
    delays = []
    for _ in range(10):
        det.reset()
        for t in range(400):
            shifted = t >= 100
            obs = [min(1.0, g + 0.4) if shifted else g for g in _h0(rng, 3)]
            if det.tick(str(t), obs) >= 1e4:
                delays.append(t - 100)
                break
    assert len(delays) == 10
    assert all(0 <= d <= 60 for d in delays), delays


def test_statistic_is_the_largest_wealth_and_names_its_start() -> None:
    det = Detector(window=10)
    assert det.statistic == 1.0 and det.since is None
    det.tick("a", [-0.5, -0.5])
    det.tick("b", [1.0, 1.0, 1.0])
    assert det.statistic > 1.0
    assert det.since == "b"  # the process started after the adverse tick is richer
    assert det.started == ["a", "b"]


def test_levels_from_times() -> None:
    lv = Levels.from_times(period_s=300, arl_s=30 * 86400, warn_arl_s=86400, recovery_s=3600,
                           window_s=86400)
    assert lv.alarm == 8640 and lv.warn == 288 and lv.recovery_ticks == 12 and lv.window == 288
    assert math.isclose(lv.clear, math.sqrt(288))
    with pytest.raises(ValueError):
        Levels(alarm=10, warn=20, recovery_ticks=1, window=1)


def _monitor() -> Monitor:
    return Monitor("c", "sentinel", Levels(alarm=100.0, warn=10.0, recovery_ticks=3, window=50))


def test_state_machine_walks_healthy_suspect_changed_recovering_healthy() -> None:
    mon = _monitor()
    seen = []
    stream = [[1.0] * 3] * 12 + [[0.0] * 3] * 8
    for t, obs in enumerate(stream):
        out = mon.observe(f"t{t}", T0, obs, exchange_keys=[f"x{t}"])
        if out.transition is not None:
            seen.append((out.transition.from_state, out.transition.to_state))
            assert out.transition.exchange_keys == [f"x{t}"]
            assert out.transition.id == f"c/sentinel/{out.transition.seq}"
    assert seen == [
        (State.HEALTHY, State.SUSPECT),
        (State.SUSPECT, State.CHANGED),
        (State.CHANGED, State.RECOVERING),
        (State.RECOVERING, State.HEALTHY),
    ]


def test_alarm_resets_and_keeps_changed_while_change_persists() -> None:
    mon = _monitor()
    states = [mon.observe(f"t{t}", T0, [1.0] * 3).state for t in range(40)]
    assert states[-1] is State.CHANGED
    assert mon.seq == 2  # healthy->suspect->changed; re-alarms are not transitions


def test_suspect_clears_back_to_healthy() -> None:
    # The ONS bettor alone (no constant bets), whose wealth is easy to follow by hand.
    mon = Monitor("c", "sentinel", Levels(alarm=100.0, warn=10.0, recovery_ticks=3, window=5, bets=()))
    assert mon.observe("a", T0, [1.0] * 6).statistic < 10  # first bet is 0: 1.5^5 = 7.6
    out = mon.observe("b", T0, [1.0])
    assert out.state is State.SUSPECT and out.statistic >= 10
    # No evidence either way (g = 0): the rich process leaves the window after 5 ticks.
    states = [mon.observe(f"n{t}", T0, [0.0]).state for t in range(5)]
    assert states == [State.SUSPECT] * 3 + [State.HEALTHY] * 2


def test_rebuild_reproduces_the_detector() -> None:
    rng = random.Random(5)
    ticks = [(f"t{i}", [rng.uniform(-1, 1) for _ in range(3)]) for i in range(120)]
    live = _monitor()
    for tid, obs in ticks:
        live.observe(tid, T0, obs)
    restored = _monitor()
    restored.rebuild(ticks)
    assert restored.detector.statistic == pytest.approx(live.detector.statistic)
    assert restored.detector.started == live.detector.started


def test_vectorised_bettor_is_betting_test_per_process() -> None:
    from parity.stats import BettingTest

    rng = random.Random(11)
    det = Detector(window=7)
    alive: list[BettingTest] = []
    for t in range(60):
        obs = [rng.uniform(-1, 1) * (t % 3 == 0) + 0.3 * (t > 30) * rng.random() for _ in range(3)]
        alive = [*alive[-6:], BettingTest()]
        for g in obs:
            for b in alive:
                b.update(min(g, 1.0))
        assert det.tick(str(t), [min(g, 1.0) for g in obs]) == pytest.approx(
            max(b.e_value for b in alive), rel=1e-9)


def test_mixture_with_constant_bets_keeps_the_guarantee() -> None:
    # Same renewal check as for the pure bettor: A = 50, at most ~60 alarms in 3000 ticks.
    rng = random.Random(7)
    det, alarms = Detector(window=40, bets=(0.5, 0.9)), 0
    for t in range(3000):
        if det.tick(str(t), _h0(rng, 2)) >= 50.0:
            alarms += 1
            det.reset()
    assert alarms <= 100


def test_constant_bets_detect_a_large_change_in_fewer_observations() -> None:
    def needed(det: Detector) -> int:
        for n in range(1, 200):
            if det.tick(str(n), [1.0]) >= 8640:
                return n
        raise AssertionError("never")

    ons, mix = needed(Detector(window=300)), needed(Detector(window=300, bets=(0.5, 0.9)))
    assert Monitor("c", "s", Levels.from_times(period_s=300, arl_s=30 * 86400, warn_arl_s=86400,
                                               recovery_s=3600, window_s=86400)).levels.bets == (0.5, 0.9)
    assert ons == 24  # 1.5^(n-1) >= 8640: the first bet is 0, then |λ| <= 1/2
    assert mix < 20  # (1 + 0.9)^n / 4 >= 8640
    with pytest.raises(ValueError):
        Detector(window=3, bets=(1.0,))
    with pytest.raises(ValueError):
        Detector(window=3).tick("x", [1.5])


def test_odd_one_out_observations_keep_every_bet_valid() -> None:
    # g in {-1/2, 0, 1} is not symmetric: every factor 1 + λ g must stay > 0 for the bets
    # the detector may hold (ONS |λ| <= 1/2, constant λ in (0, 1)), under adversarial runs.
    import numpy as np

    det = Detector(window=50, bets=(0.5, 0.9))
    seqs = [[-0.5] * 200, [1.0] * 5, [-0.5] * 50, [1.0, -0.5, 0.0] * 100, [-1.0] * 20, [1.0] * 3]
    for t, seq in enumerate(seqs):
        for k in range(0, len(seq), 10):
            gs = seq[k:k + 10]
            bets = np.concatenate([det._bet, det._bets])
            assert np.all(np.abs(det._bet) <= 0.5 + 1e-12)
            assert min(1.0 + b * g for b in bets for g in (-0.5, 0.0, 1.0, *gs)) >= 0.05
            stat = det.tick(f"{t}/{k}", gs)
            assert math.isfinite(math.log(stat)) and stat > 0.0
            assert np.all(np.isfinite(det._log_wealth()))


def _odd_h0(rng: random.Random, m: int, decisive: float = 0.5) -> list[float]:
    # A noisy exchangeable null: in a decisive round each of the 3 answers is the odd one
    # with probability 1/3 (the candidate's: g = 1, a reference's: g = -1/2); mean 0.
    return [0.0 if rng.random() >= decisive else (1.0 if rng.random() < 1 / 3 else -0.5) for _ in range(m)]


def test_false_alarms_with_odd_one_out_noise_respect_the_arl_bound() -> None:
    # As for symmetric noise: A = 50, at most ~60 alarms in 3000 ticks (renewals).
    rng = random.Random(3)
    det, alarms = Detector(window=40, bets=(0.5, 0.9)), 0
    for t in range(3000):
        if det.tick(str(t), _odd_h0(rng, 10)) >= 50.0:
            alarms += 1
            det.reset()
    assert alarms <= 100


def test_a_greedy_sentinel_that_sees_the_candidate_odd_alarms_in_two_ticks() -> None:
    # Defaults (5-minute ticks, 30-day ARL) and 10 greedy rounds per tick: a candidate that
    # is the odd one on every round crosses alarm = 8640 on the second tick, not the first.
    levels = Levels.from_times(period_s=300, arl_s=30 * 86400, warn_arl_s=86400, recovery_s=3600,
                               window_s=86400)
    mon = Monitor("c", "sentinel", levels)
    assert mon.observe("0", T0, [1.0] * 10).state is not State.CHANGED
    assert mon.observe("1", T0, [1.0] * 10).state is State.CHANGED

"""Synthetic history for the dashboard's tests, screenshots and benchmark.

Written only through the real APIs (``Store`` for runs, exchanges and
verdicts; ``WatchStore.record_tick`` for ticks, states and transitions), so
what the dashboard reads is exactly what verify and watch would have stored.
Some endpoints drift for a few days (suspect -> changed -> recovering ->
healthy); one answers with hostile markup, which must render as text.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.evidence import Evidence, ExchangeExcerpt, ResponseExcerpt
from parity.exchange import Exchange, ExchangeStatus
from parity.stats import wilson
from parity.store import Store
from parity.verdict import Estimate, Outcome, Verdict
from parity.watch import REFERENCE_STREAM, SENTINEL, State, TickRecord, Transition, WatchStore
from parity.watch._schedule import Tick
from parity.watch._store import StateRow

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    models: int = 2
    per_model: int = 3  # endpoints per model, the first is the reference
    days: int = 14
    tick_minutes: int = 60
    run_every_hours: int = 24
    exchanges_per_verdict: int = 3
    exchange_days: int = 90  # runs older than this keep verdicts only (the benchmark's bulk)
    seed: int = 0


def names(shape: Shape) -> Iterator[tuple[str, str, bool]]:
    """(model, endpoint, is reference)."""
    for m in range(shape.models):
        model = f"org/model-{m}"
        for p in range(shape.per_model):
            yield model, f"m{m}-{'ref' if p == 0 else f'p{p}'}", p == 0


def drifting(endpoint: str) -> bool:
    return endpoint.endswith("-p1")


def hostile(endpoint: str) -> bool:
    return endpoint == "m0-p2"


def _hash(*parts: Any) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:16]


def _exchange(run_id: str, endpoint: str, suite: str, i: int, at: datetime, rng: random.Random,
              bad: bool) -> Exchange:
    content = HOSTILE if hostile(endpoint) else ("It is 21 °C in Paris." if not bad else "<tool_call>{oops")
    latency = rng.lognormvariate(math.log(0.8 if not bad else 1.6), 0.25)
    request = {"model": "served", "messages": [{"role": "user", "content": f"weather {i}? {HOSTILE}"}],
               "max_tokens": 32}
    response = {"id": f"c-{i}", "object": "chat.completion", "model": f"served-{endpoint}",
                "system_fingerprint": "fp-" + endpoint, "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}
    return Exchange(run_id=run_id, endpoint=endpoint, suite=suite, case_id=f"case-{i}",
                    case_hash=_hash(suite, i), repeat=0, request=request, status=ExchangeStatus.OK,
                    http_status=200, response=response, latency_s=latency, started_at=at)


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _toolcall_verdict(endpoint: str, ref: bool, bad: bool, rng: random.Random, n: int = 200) -> Verdict:
    calls = _binomial(rng, n, 0.45)
    err = _binomial(rng, calls, 0.2 if bad else 0.04)
    agree = 0.78 if bad else 0.9 + rng.uniform(-0.02, 0.02)
    metrics: dict[str, Estimate] = {
        "toolcall_error_rate": wilson(err, calls), "propensity": wilson(calls, n),
        "schema_accuracy": wilson(calls - err // 2, calls)}
    if not ref:
        metrics["trigger_agreement"] = Estimate(value=agree, low=agree - 0.04, high=min(1.0, agree + 0.04),
                                                n=n, method="bootstrap-percentile")
    outcome = Outcome.REFERENCE if ref else (Outcome.FAIL if bad else Outcome.PASS)
    evidence: list[Evidence] = [ExchangeExcerpt(
        check="tool_call.invalid_json", case_id="case-1", repeat=0, request=None,
        response=ResponseExcerpt(status=ExchangeStatus.OK, content=HOSTILE))] if hostile(endpoint) else []
    return Verdict(endpoint=endpoint, suite="toolcall", verdict=outcome, test="Holm(McNemar exact)",
                   p_value=0.001 if bad else 0.4, alpha=0.05, requests=n, metrics=metrics,
                   reasons=["synthetic history"], failing_checks=["tool_call.invalid_json"] if bad else [],
                   evidence=evidence)


def _equality_verdict(endpoint: str, ref: bool, bad: bool, rng: random.Random, n: int = 120) -> Verdict:
    mmd = abs(rng.gauss(0.02 if not bad else 0.09, 0.01))
    tv = abs(rng.gauss(0.05 if not bad else 0.2, 0.02))
    metrics = {"mmd2": Estimate(value=mmd, n=n, method="mean per-prompt MMD², Hamming"),
               "first_token_tv": Estimate(value=tv, low=max(0.0, tv - 0.03), high=tv + 0.03, n=40,
                                          method="t")}
    outcome = Outcome.REFERENCE if ref else (Outcome.FAIL if bad else Outcome.PASS)
    return Verdict(endpoint=endpoint, suite="equality", verdict=outcome, test="MMD permutation",
                   alpha=0.05, requests=n, metrics=metrics)


def _bad(endpoint: str, at: datetime, shape: Shape) -> bool:
    """Drifting endpoints of even models changed from 9 to 5 days before the end (and recovered);
    those of odd models changed 2 days before the end and still are."""
    if not drifting(endpoint):
        return False
    if int(endpoint[1:].split("-")[0]) % 2 == 0:
        return NOW - timedelta(days=9) <= at < NOW - timedelta(days=5)
    return at >= NOW - timedelta(days=2)


def seed_runs(store: Store, shape: Shape) -> None:
    rng = random.Random(shape.seed)
    by_model: dict[str, list[tuple[str, bool]]] = {}
    for model, ep, ref in names(shape):
        by_model.setdefault(model, []).append((ep, ref))
    step = timedelta(hours=shape.run_every_hours)
    at = NOW - timedelta(days=shape.days)
    while at < NOW:
        for model, eps in by_model.items():
            config = {"endpoints": [{"name": e, "model": model, "reference": r,
                                     "base_url": f"http://user:s3cret-pw@127.0.0.1:9/{e}/v1",
                                     "headers": {"X-Key": "<redacted>"}, "extra_body": {"temperature": 0.6},
                                     "declared": {"engine": "llama.cpp", "quantization": "q8_0",
                                                  "context_length": 8192}} for e, r in eps]}
            run = store.create_run(fingerprint=_hash(model, at), parity_version="synthetic", seed=0,
                                   reference=eps[0][0], suites=["toolcall", "equality"], datasets={},
                                   config=config)
            verdicts = []
            for ep, ref in eps:
                bad = _bad(ep, at, shape)
                verdicts += [_toolcall_verdict(ep, ref, bad, rng), _equality_verdict(ep, ref, bad, rng)]
                if NOW - at <= timedelta(days=shape.exchange_days):
                    for i in range(shape.exchanges_per_verdict):
                        store.add_exchange(_exchange(run.id, ep, "toolcall", i, at, rng, bad))
            store.save_verdicts(run.id, verdicts)
            store.finish_run(run.id)
        _restamp(store, at)
        at += step


def _restamp(store: Store, at: datetime) -> None:
    """Runs are stamped with the time they ran; the synthetic ones ran in the past."""
    from sqlalchemy import update

    from parity.store._tables import runs, verdicts

    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.parity_version == "synthetic", runs.c.created_at > NOW)
                     .values(created_at=at, finished_at=at))
        conn.execute(update(verdicts).where(verdicts.c.created_at > NOW).values(created_at=at))


ALARM, WARN, RECOVERY = 720.0, 27.0, 6


Tick4 = tuple[TickRecord, StateRow, Transition | None, list[Exchange]]


def tick_history(shape: Shape) -> Iterator[Tick4]:
    """Every endpoint's sentinel ticks, with the state and transition each caused, as the watch decides."""
    rng = random.Random(shape.seed + 1)
    period = timedelta(minutes=shape.tick_minutes)
    for _model, ep, ref in names(shape):
        stream = REFERENCE_STREAM if ref else SENTINEL
        state, seq, quiet, stat = State.HEALTHY, 0, 0, 1.0
        history: list[str] = []
        at, index = NOW - timedelta(days=shape.days), 0
        while at < NOW:
            tick = Tick(ep, stream, index, at)
            bad = _bad(ep, at, shape)
            stat = stat * 2.2 if bad else max(0.2, min(stat, WARN * 0.6) * rng.uniform(0.6, 1.3))
            new = state
            if stat >= ALARM:
                new, quiet = State.CHANGED, 0
            elif stat >= WARN and state is State.HEALTHY:
                new = State.SUSPECT
            elif (state is State.CHANGED or state is State.RECOVERING) and stat < WARN:
                quiet += 1
                if quiet >= RECOVERY:
                    new = State.RECOVERING if state is State.CHANGED else State.HEALTHY
                    quiet = 0
            exs = [_exchange(tick.id, ep, SENTINEL, index, at, rng, bad)]
            keys = [f"{x.run_id}/{x.endpoint}/{x.suite}/{x.case_hash}/{x.repeat}" for x in exs]
            history = [*history, tick.id][-24:]
            tr = None
            if new is not state:
                seq += 1
                tr = Transition(id=f"{ep}/{stream}/{seq}", endpoint=ep, suite=stream, seq=seq, from_state=state,
                                to_state=new, at=at, tick_id=tick.id, statistic=stat,
                                threshold=ALARM if new is State.CHANGED else WARN, alarm=ALARM, warn=WARN,
                                evidence_ticks=list(history), exchange_keys=keys)
                state = new
            if stat >= ALARM:
                stat = 1.0  # the detector resets at every alarm
            rec = TickRecord(id=tick.id, endpoint=ep, stream=stream, index=index, scheduled_at=at,
                             status="done", observations=[round(rng.uniform(-1, 1), 3) for _ in range(3)],
                             statistic=stat, state=state, exchange_keys=keys, costs={ep: (1, 21)})
            row = StateRow(endpoint=ep, stream=stream, state=state, seq=seq, quiet=quiet, tick_id=tick.id,
                           statistic=stat, updated_at=at)
            yield rec, row, tr, exs
            at, index = at + period, index + 1


def seed_ticks(store: Store, shape: Shape) -> int:
    """Each tick through ``WatchStore.record_tick``, its exchanges through ``Store.add_exchange``."""
    ws = WatchStore(store)
    count = 0
    for rec, row, tr, exs in tick_history(shape):
        for x in exs:
            store.add_exchange(x)
        ws.record_tick(rec, row, tr)
        count += 1
    return count


def seed(store: Store, shape: Shape = Shape()) -> None:
    seed_runs(store, shape)
    seed_ticks(store, shape)

"""Full suites on periods: each candidate's scheduled suite run is a keyed job of the watch.

A suite tick of candidate ``C`` runs the suite on the reference and ``C``
through the verifier's :class:`~parity.runner.Runner`, as a normal run: the
run's fingerprint is ``watch:<tick id>`` (so a restarted job finds and resumes
its run, and nothing else ever matches it), its stored configuration names
the tick, and the tick record links the run (``run_id``) with its verdicts, so
history, reports and the dashboard see the run like any other. Requests go
through the watch's send journal: none is sent twice, even across a kill.

Budget: before the run, the suite's planned requests per endpoint are checked
against what the UTC day has spent (tokens estimated from the last run of the
same suite, else the sentinel's per-request estimate); a run that would pass a
limit is skipped and recorded with why.

State: each run's verdict for the candidate moves the state of (candidate,
suite) by :func:`._suitestate.suite_step` (fail → changed; passes → recovering
→ healthy), stored in the tick's transaction with its transition (the run id
as evidence) and alert, as a sentinel tick's are. An adaptive suite that cannot say in
advance how much it sends (``planned`` None) is checked against what is spent
only, and its real cost is charged when it ends.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from parity._version import __version__
from parity.config import ConfigError, ParityConfig
from parity.redaction import Secrets
from parity.runner import Runner, public_config
from parity.suites import Role, Suite, get_suite, planned_requests
from parity.verdict import Verdict

from ._alerts import alert_body, log_transition
from ._detect import State, Transition
from ._schedule import Cost, Tick, Ticks, over_budget
from ._store import StateRow, TickRecord
from ._suitestate import suite_step

if TYPE_CHECKING:
    from ._service import WatchService

__all__ = ["SuiteTicks"]


def _suite(name: str, limit: int | None) -> Suite:
    try:
        return get_suite(name, **({"limit": limit} if limit is not None else {}))
    except TypeError:
        raise ConfigError(f"[watch.suites.{name}]: this suite takes no 'limit'") from None
    except (KeyError, FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"[watch.suites.{name}]: {str(exc).strip(chr(39))}") from None


class SuiteTicks:
    """The scheduled suites of one watch: their schedules, and how one suite tick runs."""

    def __init__(self, service: WatchService) -> None:
        self.service = service
        watch, config = service.watch, service.config
        self.suites: dict[str, Suite] = {}
        self.schedules: dict[tuple[str, str], Ticks] = {}
        for name, sched in watch.suite_schedules().items():
            if sched.period_hours <= 0:
                continue
            self.suites[name] = _suite(name, sched.limit)
            for e in config.candidates:
                self.schedules[(e.name, name)] = Ticks(e.name, name, sched.period_hours * 3600.0,
                                                       watch.jitter, watch.seed)

    def _config(self, candidate: str) -> ParityConfig:
        config = self.service.config
        return config.model_copy(update={"endpoints": [config.reference, config.endpoint(candidate)]})

    async def run(self, tick: Tick) -> TickRecord:
        svc = self.service
        suite = self.suites[tick.stream]
        config = self._config(tick.endpoint)
        ref = config.reference.name
        planned = {
            ref: planned_requests(suite, Role.REFERENCE, config.run, config.reference) or 0,
            tick.endpoint: planned_requests(suite, Role.CANDIDATE, config.run,
                                            config.endpoint(tick.endpoint)) or 0}
        why = await asyncio.to_thread(self._over_budget, tick, planned)
        if why is not None:
            return await svc.skip(tick, why)
        runner = Runner(config, [suite], svc.store.store, keys=svc._keys, transport=svc._transport,
                        journal=svc.journal)
        run = await asyncio.to_thread(self._run_record, tick, config, suite, runner.secrets)
        result = await runner.run(run)
        exchanges = await svc.store.store.aio.exchanges(run.id)
        spent: dict[str, tuple[int, int]] = {}
        from ._service import usage_tokens

        for x in exchanges:
            n, t = spent.get(x.endpoint, (0, 0))
            spent[x.endpoint] = (n + 1, t + usage_tokens(x))
        verdict = next((v for v in result.verdicts if v.endpoint == tick.endpoint), None)
        rec = TickRecord(id=tick.id, endpoint=tick.endpoint, stream=tick.stream, index=tick.index,
                         scheduled_at=tick.at, status="done", costs=spent, run_id=run.id,
                         verdicts={v.endpoint: v.verdict.value for v in result.verdicts})
        tr = await asyncio.to_thread(self._record, tick, rec, verdict, ref)
        if tr is not None:
            log_transition(tr)
        return rec

    def _record(self, tick: Tick, rec: TickRecord, verdict: Verdict | None, ref: str) -> Transition | None:
        """Store the run's tick with the suite state its verdict leads to, in one transaction."""
        from ._service import REFERENCE_STREAM

        store = self.service.store
        row = store.state(tick.endpoint, tick.stream)
        ref_row = store.state(ref, REFERENCE_STREAM)
        period_s = self.schedules[(tick.endpoint, tick.stream)].period_s
        step = suite_step(endpoint=tick.endpoint, suite=tick.stream,
                          state=row.state if row else State.HEALTHY, quiet=row.quiet if row else 0,
                          seq=row.seq if row else 0, verdict=verdict,
                          recovery_runs=max(1, math.ceil(self.service.watch.recovery_minutes * 60.0 / period_s)),
                          tick_id=tick.id, at=tick.at, run_id=rec.run_id or "",
                          reference_state=ref_row.state if ref_row else None)
        rec.statistic, rec.state = step.statistic, step.state
        state = StateRow(endpoint=tick.endpoint, stream=tick.stream, state=step.state, seq=step.seq,
                         quiet=step.quiet, tick_id=tick.id, statistic=step.statistic, updated_at=datetime.now(UTC))
        tr = step.transition
        if not store.record_tick(rec, state, tr, alert_body(tr) if tr else None):
            raise RuntimeError(f"tick {tick.id} was recorded by another process")
        return tr

    def _run_record(self, tick: Tick, config: ParityConfig, suite: Suite, secrets: Secrets) -> Any:
        store = self.service.store.store
        fingerprint = f"watch:{tick.id}"
        found = store.find_latest(fingerprint)
        if found is not None:
            return found
        cfg = public_config(config, secrets)
        cfg["watch"] = {"tick": tick.id, "endpoint": tick.endpoint, "stream": tick.stream,
                        "scheduled_at": tick.at.isoformat(), "started_at": datetime.now(UTC).isoformat()}
        return store.create_run(fingerprint=fingerprint, parity_version=__version__, seed=config.run.seed,
                                reference=config.reference.name, suites=[suite.name],
                                datasets={suite.name: suite.dataset_hash()}, config=cfg)

    def _over_budget(self, tick: Tick, planned: dict[str, int]) -> str | None:
        svc = self.service
        for endpoint, n in planned.items():
            limit = svc.watch.for_endpoint(endpoint)
            last = svc.store.ticks(tick.endpoint, tick.stream, status="done", last=1)
            k, tokens = last[0].costs.get(endpoint, (0, 0)) if last else (0, 0)
            per_request = -(-tokens // k) if k else svc._tokens_per_request(endpoint)
            why = over_budget(svc.store.spent(endpoint, tick.day), Cost(n, n * per_request),
                              limit.requests_per_day, limit.tokens_per_day)
            if why is not None:
                return f"{endpoint}: {why}"
        return None

"""Page builders: one per page, each a sync function of the filters (run in a worker thread)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException

from parity.config import EndpointConfig
from parity.report import render_html, watch_for_run
from parity.store import Store

from ._filters import FilterError, Filters
from ._queries import Queries, utc
from ._views import (
    age,
    alias_rows,
    charts,
    declared_vs_observed,
    exchange_view,
    overview_rows,
    timeline,
    verdict_excerpts,
)

__all__ = ["Pages"]

MAX_RUNS = 100
TIMELINE_ROWS = 50  # the newest verdicts listed; the charts show every one in the range
MODELS_TTL_S = 30.0


class Pages:
    def __init__(self, store: Store, token_hashes: tuple[str, ...], endpoints: Sequence[EndpointConfig],
                 clock: Callable[[], datetime], aliases: Mapping[str, Sequence[str]] | None = None) -> None:
        self.store = store
        self.q = Queries(store)
        self.token_hashes = token_hashes
        self.configured = {e.name: e for e in endpoints}
        self.aliases = {a: list(eps) for a, eps in (aliases or {}).items()}
        # every endpoint a gateway alias routes to is known, with or without history
        self.known = list(dict.fromkeys([*self.configured, *(e for eps in self.aliases.values() for e in eps)]))
        self.clock = clock
        self._recorded: tuple[float, dict[str, str]] | None = None

    def _models(self) -> dict[str, str]:
        """Endpoint -> model id: configured, else as the newest runs recorded (re-read every 30 s)."""
        now = time.monotonic()
        if self._recorded is None or now - self._recorded[0] > MODELS_TTL_S:
            self._recorded = (now, self.q.models())
        return {**self._recorded[1], **{n: e.model for n, e in self.configured.items()}}

    def overview(self, f: Filters) -> dict[str, Any]:
        now = self.clock()
        suites, groups = overview_rows(self.q, f, now, self._models(), self.known)
        return {"suites": suites, "groups": groups, "age": lambda t: age(t, now),
                "models": sorted({m for m, _ in groups}), "aliases": alias_rows(self.aliases, groups),
                "has_aliases": bool(self.aliases)}

    def endpoint(self, f: Filters, name: str) -> dict[str, Any]:
        known = set(self.q.endpoint_names()) | set(self.known)
        if name not in known:
            raise HTTPException(404, f"no endpoint named {name!r} in the store")
        conf = self.configured.get(name)
        dec, obs = declared_vs_observed(self.q, name, conf.public_dict() if conf else None)
        now = self.clock()
        rows = self.q.verdicts_in(name, f.start, f.end)
        events = self.q.transitions_in([name], f.start, f.end)
        return {"name": name, "charts": charts(self.q, [name], f, {name: rows}, events),
                "timeline": timeline(name, rows)[:TIMELINE_ROWS], "timeline_total": len(rows),
                "transitions": list(reversed(events)),
                "declared": dec, "observed": obs, "age": lambda t: age(t, now)}

    def compare(self, f: Filters) -> dict[str, Any]:
        names = list(f.endpoints)
        models = self._models()
        if f.model and not names:
            names = sorted(n for n, m in models.items() if m == f.model)
        if len(names) < 2:
            raise FilterError("compare: name two or more endpoints (endpoint=a&endpoint=b) or a model "
                              "with two or more endpoints (model=…)")
        of = sorted({models.get(n, "model not recorded") for n in names})
        events = self.q.transitions_in(names, f.start, f.end)
        rows = {n: self.q.verdicts_in(n, f.start, f.end) for n in names}
        return {"names": names, "charts": charts(self.q, names, f, rows, events), "of_models": of,
                "transitions": list(reversed(events))}

    def runs(self, f: Filters) -> dict[str, Any]:
        now = self.clock()
        rows = [r for r in self.store.list_runs(limit=MAX_RUNS)
                if f.start <= utc(r.created_at) < f.end]
        return {"runs": rows, "age": lambda t: age(utc(t), now)}

    def run_report(self, run_id: str) -> str:
        if len(run_id) > 64:
            raise HTTPException(404, "no such run")
        try:
            run = self.store.get_run(run_id)
        except KeyError:
            raise HTTPException(404, f"no run {run_id!r} in the store") from None
        verdicts = self.store.verdicts(run_id)
        return render_html(run, verdicts, watch_for_run(self.store, run.reference, verdicts))

    def evidence(self, f: Filters, transition: str | None, run: str | None, endpoint: str | None,
                 suite: str | None) -> dict[str, Any]:
        if transition:
            tr = self.q.transition(transition[:400])
            if tr is None:
                raise HTTPException(404, "no such transition in the store")
            exchanges = self.q.exchanges_by_key(tr.exchange_keys)
            return {"kind": "transition", "transition": tr, "verdict": None,
                    "ticks": self.q.tick_rows(tr.evidence_ticks),
                    "exchanges": [exchange_view(x) for x in exchanges], "total": len(tr.exchange_keys),
                    "excerpts": []}
        if run and endpoint and suite:
            v = self.q.verdict(run[:64], endpoint[:128], suite[:64])
            if v is None:
                raise HTTPException(404, "no such verdict in the store")
            exchanges, total = self.q.run_exchanges(run, endpoint, suite)
            return {"kind": "verdict", "transition": None, "verdict": v, "run_id": run, "ticks": [],
                    "exchanges": [exchange_view(x) for x in exchanges], "total": total,
                    "excerpts": verdict_excerpts(v)}
        raise FilterError("evidence: give transition=ID, or run=…&endpoint=…&suite=…")

"""The latest stored verdicts per endpoint, and the watch's states, cached and refreshed off the hot path.

':verified' admits an endpoint when its verdicts pass and, with the gateway's
``[watch]`` enabled, when the watch's state admits it (``_watchbook``). The
watch's state is named ``watch`` beside the suites: ``required_suites =
["watch"]`` makes a state on record mandatory; without it a state on record
still gates (a changed endpoint always leaves), and an endpoint the watch does
not know is judged by its verdicts alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from parity.store import Store
from parity.verdict import Outcome, Verdict

from ._watchbook import WATCH_SUITE, WatchBook

_GOOD = (Outcome.PASS, Outcome.REFERENCE)


class VerdictBook:
    def __init__(
        self, store: Store | None, endpoints: Sequence[str], refresh_s: float, clock: Callable[[], float],
        watch: WatchBook | None = None,
    ) -> None:
        self._store = store
        self.watch = watch
        self._endpoints = list(endpoints)
        self._refresh_s = refresh_s
        self._clock = clock
        self._by_ep: dict[str, list[Verdict]] = {}
        self._loaded_at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.load()

    def load(self) -> None:
        """Read every endpoint's latest verdicts (blocking: startup, or from a worker thread)."""
        if self._store is not None:
            self._by_ep = {ep: self._store.latest_verdicts(ep) for ep in self._endpoints}
        self._loaded_at = self._clock()

    def maybe_refresh(self) -> None:
        """Start a background reload when the cache is older than ``refresh_s``."""
        if self.watch is not None:
            self.watch.maybe_refresh()
        if self._store is None or self._task is not None or self._clock() - self._loaded_at < self._refresh_s:
            return
        self._loaded_at = self._clock()  # one reload at a time, even if it fails
        self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.load))
        self._task.add_done_callback(self._done)

    async def aclose(self) -> None:
        if self.watch is not None:
            await self.watch.aclose()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            pass  # keep the previous verdicts; a store outage must not take routing down

    def set(self, endpoint: str, verdicts: list[Verdict]) -> None:
        self._by_ep[endpoint] = verdicts

    def verified(self, endpoint: str, required: Sequence[str]) -> str | None:
        """None if the endpoint's latest verdicts pass (and the watch admits it), else why not."""
        found = {v.suite: v for v in self._by_ep.get(endpoint, [])}
        watched = self.watch is not None and self.watch.view(endpoint) is not None
        missing = [s for s in required if s not in found and not (s == WATCH_SUITE and watched)]
        if missing == [WATCH_SUITE] and self.watch is not None and self.watch.enabled:
            return "no watch state on record"
        if not found and not watched:
            return "no verdict on record"
        if missing:
            return f"no verdict for suite(s) {', '.join(missing)}"
        suites = [s for s in (required or list(found)) if s != WATCH_SUITE]
        bad = [f"{s}={found[s].verdict.value}" for s in suites if found[s].verdict not in _GOOD]
        if bad:
            return f"latest verdict not passing: {', '.join(bad)}"
        return self.watch.why_not(endpoint) if watched and self.watch is not None else None

    def measured_latency(self, endpoint: str) -> float | None:
        """The median latency the latest speed verdict measured (seconds), if any.

        Streamed requests of the speed suite, every input length together; a prior
        for the ``latency`` policy until live traffic has been timed.
        """
        for v in self._by_ep.get(endpoint, []):
            est = v.metrics.get("latency_s.p50") if v.suite == "speed" else None
            if est is not None and est.value is not None and est.value >= 0:
                return float(est.value)
        return None

    def header(self, endpoint: str) -> str:
        """``suite=outcome, …`` and, when watched, ``watch=STATE (since …; last tick …)``."""
        parts = [f"{v.suite}={v.verdict.value}" for v in self._by_ep.get(endpoint, [])]
        w = self.watch.header(endpoint) if self.watch is not None else None
        if w is not None:
            parts.append(w)
        return ", ".join(parts) if parts else "none"

"""Which sentinel an endpoint is on: the configured one, or the black-box one after its logprobs
went missing (or its reference's did), and the re-probe that brings it back (:mod:`._reprobe`).

The switch is read from the endpoint's newest done tick, which carries it (``logprobs_missing``):
it survives restarts and reaches every worker. Each tick's observation kind is therefore fixed
before its answers are drawn, which keeps the detector's wealth valid across a switch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from parity.case import Case
from parity.exchange import Exchange

from ._config import WatchConfig
from ._reprobe import is_probe, logprobs_back, probe_case, probe_due
from ._schedule import Tick
from ._sentinel import SentinelDesign, logprobs_missing
from ._store import TickRecord

__all__ = ["SentinelModes"]

logger = logging.getLogger("parity.watch")


def _inherited(reference: str) -> str:
    """A candidate's ``logprobs_missing`` when it follows its reference onto the black-box sentinel."""
    return f"the reference {reference} reports no logprobs"


class SentinelModes:
    """The sentinel of each endpoint from tick to tick (``last_done``: an endpoint's newest done tick)."""

    def __init__(self, designs: Mapping[str, SentinelDesign], watch: WatchConfig, reference: str,
                 last_done: Callable[[str], TickRecord | None]) -> None:
        self.designs, self.watch, self.reference = designs, watch, reference
        self._last_done = last_done

    def mode(self, endpoint: str) -> tuple[SentinelDesign, str | None, TickRecord | None]:
        """The endpoint's sentinel now, why it is black-box where logprobs were configured (None:
        it is not), and its newest done tick, which carries the switch (blocking)."""
        base, ref = self.designs[endpoint], self.reference
        if not base.asks_logprobs:  # black-box by configuration: nothing to switch
            return base, None, None
        last = self._last_done(endpoint)
        why = last.logprobs_missing if last is not None else None
        if why == _inherited(ref):  # not the candidate's own finding: follows the reference's
            why = None
        if why is None and endpoint != ref:
            ref_last = self._last_done(ref)
            if ref_last is not None and ref_last.logprobs_missing is not None:
                why = _inherited(ref)
        if why is None:
            return base, None, last
        return dataclasses.replace(base, blackbox=self.watch.for_endpoint(endpoint).blackbox), why, last

    def probe(self, tick: Tick, design: SentinelDesign, missing: str | None,
              last: TickRecord | None) -> Case | None:
        """The tick's logprob re-probe, when due: only for an endpoint configured with logprobs
        whose own answers went without them (not one following its reference)."""
        conf = self.watch.for_endpoint(tick.endpoint)
        if missing is None or missing == _inherited(self.reference) or not conf.logprobs:
            return None
        if not probe_due(tick.index, last.logprobs_asked if last else None, conf.logprobs_reprobe_ticks):
            return None
        return probe_case(design, tick.id, tick.stream, tick.index)

    def switch(self, tick: Tick, design: SentinelDesign, exchanges: list[Exchange], missing: str | None,
               last: TickRecord | None) -> tuple[str | None, str | None, int | None]:
        """The endpoint's sentinel from the next tick on: why it is black-box (None: it is not), what
        this tick changed (a note for the record and the log; None: nothing), and the index of its
        latest tick that asked for logprobs while black-box."""
        mode = self.watch.for_endpoint(tick.endpoint).blackbox
        ref = self.reference
        if missing is None:
            found = logprobs_missing(exchanges, tick.endpoint) if design.asks_logprobs else None
            if found is not None:
                note = f"no logprobs since tick {tick.id} ({found}): sentinel switched to {mode} black-box"
                logger.warning("watch.sentinel %s %s", tick.endpoint, note)
                return note, note, tick.index
            if last is not None and last.logprobs_missing == _inherited(ref):  # followed the reference back
                note = f"the reference {ref} reports logprobs again: sentinel back on logprobs"
                logger.info("watch.sentinel %s %s", tick.endpoint, note)
                return None, note, None
            return None, None, None
        if not any(is_probe(x) for x in exchanges):
            return missing, None, last.logprobs_asked if last is not None else None
        back = logprobs_back(exchanges, tick.endpoint)
        if back is None:
            logger.info("watch.sentinel %s logprob re-probe on tick %s: still none", tick.endpoint, tick.id)
            return missing, None, tick.index
        note = f"logprobs back since tick {tick.id} ({back}): sentinel switched back from {mode} black-box " \
               "to logprobs"
        logger.warning("watch.sentinel %s %s", tick.endpoint, note)
        return None, note, None

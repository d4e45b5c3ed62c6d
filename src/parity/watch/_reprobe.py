"""The re-probe: an endpoint switched to the black-box sentinel for missing logprobs asks for them again.

Every ``logprobs_reprobe_ticks`` ticks (counted from the tick that last asked: the switch, or
the previous probe), such an endpoint's tick sends ONE extra request: one of the tick's prompts
with the logprob sentinel's sampling (``logprobs``, ``top_logprobs``), keyed like every other
request of the tick (tick id as run id, case hash, repeat 0) and journaled before it leaves, so a
tick finished after a kill never sends it twice. The probe's answer is no observation: the tick's
observations are the black-box ones its design fixed before anything was drawn. If the answer
carries first-token logprobs, the endpoint is back on the logprob sentinel from its next tick on —
decided from this tick's answers, so the kind of every later observation is still known before it
is drawn (the detector carries on, as across the switch to black-box).
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.case import Case
from parity.exchange import Exchange
from parity.suites.equality import PROMPTS, sample_seed

from ._sentinel import SentinelDesign, has_logprobs

__all__ = ["PROBE", "is_probe", "logprobs_back", "probe_case", "probe_due"]

PROBE = "logprobs-probe"  # the probe's case id prefix: no prompt id of the sentinel starts so


def probe_case(design: SentinelDesign, tick_id: str, stream: str, index: int) -> Case:
    """The probe of a tick: one of its prompts (in turn, by tick index) asked with logprobs."""
    pid = design.prompts[index % len(design.prompts)]
    seed = sample_seed(design.seed, f"{tick_id}/{stream}/{PROBE}", pid, 0)
    return Case(id=f"{PROBE}:{pid}#0", body=design.sampling.body(dict(PROMPTS)[pid], seed))


def is_probe(x: Exchange) -> bool:
    return x.case_id.startswith(PROBE + ":")


def probe_due(index: int, last_asked: int | None, every: int) -> bool:
    """Whether tick ``index`` probes, the endpoint having last been asked for logprobs on tick
    ``last_asked`` (None: not known, a tick stored before re-probes existed: probe now)."""
    if every <= 0:
        return False
    return last_asked is None or index - last_asked >= every


def logprobs_back(exchanges: Sequence[Exchange], endpoint: str) -> str | None:
    """Why ``endpoint``'s probe says it reports logprobs again; None if it does not (or failed)."""
    for x in exchanges:
        if x.endpoint == endpoint and is_probe(x) and x.ok and has_logprobs(x):
            return f"the probe on prompt {x.case_id[len(PROBE) + 1:-2]} came back with first-token logprobs"
    return None

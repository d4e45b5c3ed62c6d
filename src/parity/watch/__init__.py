"""Watch: continuous, cheap observation of endpoints and sequential change detection.

``Monitor`` (detector + states) and ``Ticks`` (the schedule) are pure;
``WatchService`` runs the loop over the client, the store and ``AlertSender``.
"""

from parity.watch._alerts import AlertSender, alert_body
from parity.watch._config import (
    AlertPolicy,
    EndpointOverride,
    EndpointWatch,
    WatchConfig,
    load_watch,
    parse_watch,
)
from parity.watch._detect import (
    Detector,
    EvalueDetector,
    Levels,
    Monitor,
    State,
    TickOutcome,
    Transition,
    rank_evalue,
)
from parity.watch._schedule import Cost, Tick, Ticks, over_budget
from parity.watch._sentinel import SENTINEL, SentinelDesign, observe, observe_reference
from parity.watch._service import REFERENCE_STREAM, WatchService, exchange_key
from parity.watch._store import AlertRow, StateRow, TickRecord, WatchStore

__all__ = [
    "REFERENCE_STREAM",
    "SENTINEL",
    "AlertPolicy",
    "AlertRow",
    "AlertSender",
    "Cost",
    "Detector",
    "EndpointOverride",
    "EndpointWatch",
    "EvalueDetector",
    "Levels",
    "Monitor",
    "SentinelDesign",
    "State",
    "StateRow",
    "Tick",
    "TickOutcome",
    "TickRecord",
    "Ticks",
    "Transition",
    "WatchConfig",
    "WatchService",
    "WatchStore",
    "alert_body",
    "exchange_key",
    "load_watch",
    "observe",
    "observe_reference",
    "over_budget",
    "parse_watch",
    "rank_evalue",
]

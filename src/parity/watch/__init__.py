"""Watch: continuous, cheap observation of endpoints and sequential change detection."""

from parity.watch._config import AlertPolicy, EndpointOverride, EndpointWatch, WatchConfig, load_watch, parse_watch
from parity.watch._detect import Detector, Levels, Monitor, State, TickOutcome, Transition
from parity.watch._schedule import Cost, Tick, Ticks, over_budget

__all__ = [
    "AlertPolicy",
    "Cost",
    "Detector",
    "EndpointOverride",
    "EndpointWatch",
    "Levels",
    "Monitor",
    "State",
    "Tick",
    "TickOutcome",
    "Ticks",
    "Transition",
    "WatchConfig",
    "load_watch",
    "over_budget",
    "parse_watch",
]

"""Watch: continuous, cheap observation of endpoints and sequential change detection."""

from parity.watch._detect import Detector, Levels, Monitor, State, TickOutcome, Transition

__all__ = ["Detector", "Levels", "Monitor", "State", "TickOutcome", "Transition"]

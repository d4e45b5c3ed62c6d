"""The public surface of parity.watch is what was meant."""

from __future__ import annotations

import parity.watch


def test_exports() -> None:
    assert set(parity.watch.__all__) == {
        "REFERENCE_STREAM", "SENTINEL", "AlertPolicy", "AlertRow", "AlertSender", "Cost", "Detector",
        "EndpointOverride", "EndpointWatch", "EvalueDetector", "Levels", "Monitor", "SentinelDesign",
        "State", "StateRow",
        "Tick", "TickOutcome", "TickRecord", "Ticks", "Transition", "WatchConfig", "WatchService",
        "WatchStore", "alert_body", "exchange_key", "load_watch", "observe", "observe_reference",
        "over_budget", "parse_watch", "rank_evalue",
    }
    for name in parity.watch.__all__:
        assert getattr(parity.watch, name) is not None

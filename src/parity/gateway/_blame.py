"""Attribution: whether a failed attempt is evidence against its endpoint or against the request.

A request can make every endpoint fail: an unsatisfiable tool schema, tools
that crash a provider's parser, a prompt that runs into a timeout. If such
failures counted, one client could eject every healthy endpoint with a few
requests. So a failure counts against an endpoint only when the evidence
says the endpoint is at fault:

- the failure cannot come from the request (``connect_error``: nothing was
  answered; ``rate_limited``: the endpoint says it is overloaded), or
- another endpoint answered the same request well (the request was fine), or
- failures of requests that no endpoint served come from at least
  ``min_distinct_clients`` different clients (gateway keys, or addresses when
  the gateway has no keys): then each client's latest failure counts once, so
  one client -- however many requests it sends -- is one piece of evidence.

Unattributed failures are still counted in ``parity_gateway_upstream_attempts``
(and ``parity_gateway_unattributed_failures``); they only stay out of the
ejection windows. Probes are the gateway's own known-good request: always
attributed.
"""

from __future__ import annotations

from collections import deque

ENDPOINT_ONLY = frozenset({"connect_error", "rate_limited"})


class Blame:
    """Failures of requests no endpoint served, per endpoint, until enough clients share them."""

    def __init__(self, endpoints: list[str], min_clients: int, window: int) -> None:
        self.min_clients = min_clients
        self._pending: dict[str, deque[tuple[str, str]]] = {n: deque(maxlen=window) for n in endpoints}

    def suspect(self, endpoint: str, client: str, outcome: str) -> list[str]:
        """Record one unattributed failure; the outcomes it promotes to evidence (often none)."""
        pending = self._pending[endpoint]
        pending.append((client, outcome))
        latest = {c: o for c, o in pending}  # one per client: its most recent failure
        if len(latest) < self.min_clients:
            return []
        pending.clear()
        return list(latest.values())

    def clear(self, endpoint: str) -> None:
        self._pending[endpoint].clear()

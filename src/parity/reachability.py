"""When a run cannot judge: endpoints unreachable or failing beyond a threshold.

A candidate that cannot be reached has not been shown to serve the model badly;
a reference that cannot be reached leaves nothing to compare with. Both are an
``error`` outcome, distinct from ``fail`` (evidence against the endpoint) and
from ``inconclusive`` (more cases needed). Pure: a function of the Exchanges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from parity.exchange import Exchange, ExchangeStatus
from parity.verdict import Outcome, Verdict

__all__ = ["DEFAULT_MAX_ERROR_RATE", "Reachability", "apply_reachability", "reachability", "transport_failure"]

DEFAULT_MAX_ERROR_RATE = 0.5
# HTTP statuses that are the endpoint judging the request (a real answer a suite
# may test, e.g. an unsupported parameter refused), not a failure to serve it.
_ANSWERS = frozenset({400, 413, 422})


def transport_failure(x: Exchange) -> str | None:
    """The kind of failure that says nothing about the model, or None."""
    if x.status in (ExchangeStatus.CONNECT_ERROR, ExchangeStatus.TIMEOUT, ExchangeStatus.INTERRUPTED):
        return x.status.value
    if x.status is ExchangeStatus.HTTP_ERROR and x.http_status not in _ANSWERS:
        return f"http_{x.http_status}" if x.http_status else "http_error"
    return None


@dataclass(frozen=True)
class Reachability:
    """How many of an endpoint's requests in one suite failed to be served, and how."""

    requests: int
    failed: int
    kinds: Mapping[str, int]

    @property
    def rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def broken(self, max_rate: float) -> bool:
        return self.requests > 0 and self.rate > max_rate

    @property
    def label(self) -> str:
        """``unreachable`` when nothing connected; ``failing`` otherwise."""
        nothing_connected = self.failed == self.requests and set(self.kinds) <= {"connect_error", "timeout"}
        return "unreachable" if nothing_connected else "failing"

    def describe(self) -> str:
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(self.kinds.items()))
        return f"{self.failed}/{self.requests} requests were not served ({kinds})"


def reachability(exchanges: Sequence[Exchange]) -> Reachability:
    kinds = Counter(k for x in exchanges if (k := transport_failure(x)) is not None)
    return Reachability(requests=len(exchanges), failed=sum(kinds.values()), kinds=dict(kinds))


def _as_error(v: Verdict, reason: str) -> Verdict:
    # The reference's own row stays a reference row (it is never judged), with the reason.
    outcome = v.verdict if v.verdict is Outcome.REFERENCE else Outcome.ERROR
    # The tests ran on whatever came back; their p-value must not read as a finding.
    p = v.p_value if outcome is Outcome.REFERENCE else None
    return v.model_copy(update={"verdict": outcome, "reasons": [reason, *v.reasons], "p_value": p})


def apply_reachability(
    verdicts: Sequence[Verdict],
    exchanges: Mapping[str, Sequence[Exchange]],
    *,
    reference: str,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
) -> list[Verdict]:
    """One suite's verdicts, with ``error`` where the run could not judge.

    ``exchanges`` maps endpoint name to that suite's Exchanges. If the reference
    failed beyond ``max_error_rate``, every row is an error: nothing was compared.
    """
    ref = reachability(exchanges.get(reference, ()))
    out: list[Verdict] = []
    for v in verdicts:
        mine = reachability(exchanges.get(v.endpoint, ()))
        if mine.broken(max_error_rate):
            out.append(_as_error(v, f"error: {mine.label} -- {mine.describe()}"))
        elif ref.broken(max_error_rate):
            out.append(_as_error(v, f"error: the reference {reference!r} is {ref.label} -- "
                                    f"{ref.describe()}; nothing to compare with"))
        else:
            out.append(v)
    return out

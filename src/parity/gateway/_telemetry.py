"""Live telemetry per endpoint, and the Prometheus metrics that expose it.

Sliding windows of outcomes feed three consumers: the ejection test, the
':verified' live bounds and /metrics. Recording is O(1); quantiles are
computed only when someone asks (a scrape or the latency policy's EWMA).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

ATTEMPT_OUTCOMES = (
    "ok", "http_error", "rate_limited", "timeout", "connect_error", "invalid_body",
    "stream_error", "tool_call_invalid", "client_error", "empty_answer",
)
FAILURES = frozenset(ATTEMPT_OUTCOMES) - {"ok", "tool_call_invalid", "client_error"}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_EWMA = 0.2


class _Children:
    """``labels(...)`` memoised per label values: the very child prometheus_client keeps (it
    never drops one unless ``remove``/``clear`` is called, which the gateway never does), without
    its per-call validation, string conversion and lock on the request path."""

    _children: dict[tuple[object, ...], Any]

    def labels(self, *labelvalues: object, **labelkwargs: object) -> Any:
        if labelkwargs:
            return super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc]
        try:
            cache = self._children
        except AttributeError:
            cache = self._children = {}
        child = cache.get(labelvalues)
        if child is None:
            child = cache[labelvalues] = super().labels(*labelvalues)  # type: ignore[misc]
        return child


class CachedCounter(_Children, Counter):
    """A Counter whose ``labels`` children are looked up in a dict (see ``_Children``)."""


class CachedHistogram(_Children, Histogram):
    """A Histogram whose ``labels`` children are looked up in a dict (see ``_Children``)."""


class Window:
    """The last ``size`` yes/no outcomes and how many were yes."""

    __slots__ = ("_items", "k")

    def __init__(self, size: int) -> None:
        self._items: deque[bool] = deque(maxlen=size)
        self.k = 0

    def add(self, yes: bool) -> None:
        if len(self._items) == self._items.maxlen and self._items[0]:
            self.k -= 1
        self._items.append(yes)
        self.k += yes

    @property
    def n(self) -> int:
        return len(self._items)

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self._items else None

    def clear(self) -> None:
        self._items.clear()
        self.k = 0


def quantile(values: Iterable[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class EndpointStats:
    """One endpoint's recent behaviour, as seen by this process."""

    def __init__(self, window: int) -> None:
        self.errors = Window(window)  # every attempt: did it fail (error, timeout, broken stream)?
        self.tool_errors = Window(window)  # answers with tool calls: was any call invalid?
        self.tool_propensity = Window(window)  # answers: did it call a tool at all?
        self.latencies: deque[float] = deque(maxlen=1024)
        self.ttfts: deque[float] = deque(maxlen=1024)
        self.latency_ewma: float | None = None

    def observe(self, outcome: str, latency_s: float | None, ttft_s: float | None, tool_calls: int | None) -> None:
        """Timings and, as evidence about the endpoint, the outcome."""
        self.timing(outcome, latency_s, ttft_s)
        self.evidence(outcome, tool_calls)

    def timing(self, outcome: str, latency_s: float | None, ttft_s: float | None) -> None:
        if latency_s is not None and outcome == "ok":
            self.latencies.append(latency_s)
            prev = self.latency_ewma
            self.latency_ewma = latency_s if prev is None else prev + _EWMA * (latency_s - prev)
        if ttft_s is not None:
            self.ttfts.append(ttft_s)

    def evidence(self, outcome: str, tool_calls: int | None) -> None:
        """The windows the ejection test reads (see _blame for what is admitted as evidence)."""
        self.errors.add(outcome in FAILURES)
        if outcome in ("ok", "tool_call_invalid") and tool_calls is not None:
            self.tool_propensity.add(tool_calls > 0)
            if tool_calls > 0:
                self.tool_errors.add(outcome == "tool_call_invalid")


class Metrics:
    """Prometheus metrics in a registry of their own (several apps may share a process)."""

    def __init__(
        self, stats: Mapping[str, EndpointStats], admitted: Callable[[], Mapping[str, bool]]
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = CachedCounter("parity_gateway_requests", "Client requests by final outcome.",
                                ["model", "outcome"], registry=r)
        self.attempts = CachedCounter("parity_gateway_upstream_attempts", "Upstream attempts by outcome.",
                                ["endpoint", "outcome"], registry=r)
        self.fallbacks = CachedCounter("parity_gateway_fallbacks", "Requests moved to another endpoint.",
                                 ["model", "reason"], registry=r)
        self.ejections = CachedCounter("parity_gateway_ejections", "Endpoints ejected by the live test.",
                                 ["endpoint", "signal"], registry=r)
        self.readmissions = CachedCounter("parity_gateway_readmissions", "Endpoints readmitted after probes.",
                                    ["endpoint"], registry=r)
        self.unattributed = CachedCounter("parity_gateway_unattributed_failures",
                                    "Failed attempts not (yet) counted against the endpoint: no other "
                                    "endpoint served the request and too few clients saw such failures.",
                                    ["endpoint", "outcome"], registry=r)
        self.empty_answers = CachedCounter("parity_gateway_empty_answers",
                                     "Complete answers with no text and no tool call (finish_reason 'stop').",
                                     ["endpoint"], registry=r)
        self.probes = CachedCounter("parity_gateway_probes", "Probe requests.", ["endpoint", "outcome"], registry=r)
        self.ignore_votes = CachedCounter("parity_gateway_ignore_votes", "Client ignore-list votes.",
                                    ["endpoint"], registry=r)
        self.latency = CachedHistogram("parity_gateway_upstream_latency_seconds", "Upstream latency of good answers.",
                                 ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r)
        self.ttft = CachedHistogram("parity_gateway_upstream_ttft_seconds", "Streams: time to first token.",
                              ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r)
        r.register(_LiveCollector(stats, admitted))


class _LiveCollector(Collector):
    """Gauges computed at scrape time from the sliding windows."""

    def __init__(
        self, stats: Mapping[str, EndpointStats], admitted: Callable[[], Mapping[str, bool]]
    ) -> None:
        self._stats = stats
        self._admitted = admitted

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rates: dict[str, tuple[str, Callable[[EndpointStats], float | None]]] = {
            "error_rate": ("Windowed share of failed attempts.", lambda s: s.errors.rate),
            "tool_call_error_rate": ("Windowed share of answers with an invalid tool call.",
                                     lambda s: s.tool_errors.rate),
            "tool_call_propensity": ("Windowed share of answers that call a tool.",
                                     lambda s: s.tool_propensity.rate),
            "latency_p50_seconds": ("Recent latency, median.", lambda s: quantile(s.latencies, 0.5)),
            "latency_p99_seconds": ("Recent latency, 99th percentile.", lambda s: quantile(s.latencies, 0.99)),
            "ttft_p50_seconds": ("Recent time to first token, median.", lambda s: quantile(s.ttfts, 0.5)),
            "ttft_p99_seconds": ("Recent time to first token, p99.", lambda s: quantile(s.ttfts, 0.99)),
        }
        for name, (doc, get) in rates.items():
            g = GaugeMetricFamily(f"parity_gateway_endpoint_{name}", doc, labels=["endpoint"])
            for ep, s in self._stats.items():
                v = get(s)
                if v is not None:
                    g.add_metric([ep], v)
            yield g
        g = GaugeMetricFamily("parity_gateway_endpoint_window_samples", "Outcomes in the window.",
                              labels=["endpoint"])
        for ep, s in self._stats.items():
            g.add_metric([ep], s.errors.n)
        yield g
        g = GaugeMetricFamily("parity_gateway_endpoint_admitted", "1 if admitted, 0 if ejected.",
                              labels=["endpoint"])
        for ep, ok in self._admitted().items():
            g.add_metric([ep], 1.0 if ok else 0.0)
        yield g

"""OpenTelemetry traces (the optional ``otel`` extra): a span per client request and per
upstream attempt, with the GenAI semantic conventions' attributes.

Off unless enabled: :func:`tracing` returns None when OpenTelemetry is not installed
or no provider is given and the CLI did not configure one. Attributes never carry
keys, header values or message contents -- model, tokens, finish reasons, outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["Tracing", "configure_otlp", "tracing"]

SYSTEM = "openai"  # gen_ai.system: the wire protocol the gateway and its upstreams speak


class Tracing:
    """Spans through one tracer; attempt spans are children of the current request span."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    @contextmanager
    def request(self, method: str, route: str) -> Iterator[Span]:
        from opentelemetry.trace import SpanKind

        attrs = {"http.request.method": method, "url.path": route, "gen_ai.operation.name": _operation(route)}
        with self._tracer.start_as_current_span(f"{method} {route}", kind=SpanKind.SERVER,
                                                attributes=attrs) as span:
            yield span

    def attempt(self, endpoint: str, upstream_model: str, outcome: str, latency_s: float | None,
                attrs: Mapping[str, Any]) -> None:
        """A finished attempt, recorded after the fact with its real start and end times."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        end = time.time_ns()
        start = end - int((latency_s or 0.0) * 1e9)
        span = self._tracer.start_span(f"chat {upstream_model}", kind=SpanKind.CLIENT, start_time=start,
                                       attributes={"gen_ai.system": SYSTEM, "gen_ai.operation.name": "chat",
                                                   "parity.endpoint": endpoint, "parity.outcome": outcome,
                                                   **_clean(attrs)})
        if outcome != "ok":
            span.set_status(Status(StatusCode.ERROR, outcome))
        span.end(end_time=end)

    @staticmethod
    def annotate(span: Span, attrs: Mapping[str, Any]) -> None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attributes(_clean(attrs))
        status = attrs.get("http.response.status_code")
        if isinstance(status, int) and status >= 500:
            span.set_status(Status(StatusCode.ERROR, str(status)))


def _operation(route: str) -> str:
    return {"/v1/chat/completions": "chat", "/v1/completions": "text_completion",
            "/v1/responses": "chat"}.get(route, "other")


def _clean(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """OTel attributes are primitives or lists of them; None is dropped."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if v is None:
            continue
        out[k] = list(v) if isinstance(v, list | tuple) else v
    return out


def tracing(provider: TracerProvider | None = None) -> Tracing | None:
    """A Tracing over ``provider`` (or the global one), or None without OpenTelemetry."""
    try:
        from opentelemetry import trace
    except ModuleNotFoundError:
        return None
    from parity._version import __version__

    tracer = (provider or trace.get_tracer_provider()).get_tracer("parity.gateway", __version__)
    return Tracing(tracer)


def configure_otlp(service_name: str = "parity-gateway") -> Tracing:
    """The CLI edge: an SDK provider exporting over OTLP/HTTP, configured by the standard
    ``OTEL_EXPORTER_OTLP_*`` environment variables (endpoint, headers, timeout)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ModuleNotFoundError as exc:
        raise RuntimeError("tracing needs the otel extra: pip install 'parity[otel]'") from exc
    provider = SdkProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    found = tracing(provider)
    assert found is not None
    return found

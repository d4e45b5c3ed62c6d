"""Traces: a span per client request and per upstream attempt, GenAI attributes, no keys."""

from __future__ import annotations

from typing import Any

import pytest

from parity.fake import Answer, Call, FakeEndpoint, HttpError
from parity.gateway._otel import tracing

from .conftest import TOOLS, make_config

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

KEY = "sk-MARKER-otel-5150"


async def test_spans_per_request_and_attempt_with_genai_attributes(harness: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    call = Answer(content=None, calls=(Call("get_weather", '{"city": "Paris"}'),),
                  usage={"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40})
    cfg = make_config(["down", "up"], alias={"policy": "price", "prices": {"down": 0}},
                      endpoint={"api_key_env": "K", "headers": {"x-token": KEY + "-h"}})
    h = harness({"down": FakeEndpoint(lambda b: HttpError(503, "busy")), "up": FakeEndpoint(lambda b: call)},
                cfg, environ={"K": KEY})
    h.gw.events.tracing = tracing(provider)
    r = await h.chat(tools=TOOLS)
    assert r.status_code == 200
    r = await h.chat(tools=TOOLS, stream=True, stream_options={"include_usage": True})
    assert r.status_code == 200
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.name == "POST /v1/chat/completions"]
    attempts = [s for s in spans if s.name.startswith("chat ")]
    assert len(servers) == 2 and len(attempts) == 4  # each request: the 503, then the good answer
    for server in servers:
        children = [a for a in attempts if a.parent is not None and a.parent.span_id == server.context.span_id]
        assert [c.attributes["parity.endpoint"] for c in children] == ["down", "up"]
        failed, good = children
        assert failed.attributes["error.type"] == "http_error" and failed.status.status_code.name == "ERROR"
        assert good.attributes["gen_ai.request.model"] == "m-up"
        assert good.attributes["gen_ai.usage.input_tokens"] == 31
        assert good.attributes["gen_ai.usage.output_tokens"] == 9
        assert tuple(good.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)
        assert server.attributes["gen_ai.request.model"] == "m"
        assert server.attributes["http.response.status_code"] == 200
        assert server.attributes["gen_ai.usage.output_tokens"] == 9
    dumped = " ".join(f"{s.name} {dict(s.attributes or {})}" for s in spans)
    assert KEY not in dumped


def test_otlp_exporter_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.gateway._otel import configure_otlp

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    tr = configure_otlp("parity-test")
    resource = tr._tracer.resource  # type: ignore[attr-defined]  # the SDK tracer's resource
    assert resource.attributes["service.name"] == "parity-test"

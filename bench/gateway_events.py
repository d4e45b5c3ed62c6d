"""CPU cost per request of the gateway's observability: log events, token metrics, spans.

    python bench/gateway_events.py [--n 20000] [--repeats 7]

In-process, no network: what one served request adds on the gateway's core for the
access-log line (kv or JSON, written to /dev/null), the attempt hook (token and spend
metrics from the answer's usage) and, with the otel extra, the two spans (in-memory
exporter). CPU time (process_time), so other load on the machine matters less than for
wall-clock figures; median and range over repeats.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from parity.gateway import create_app, parse_gateway_config
from parity.gateway._events import _RECORD
from parity.gateway._upstream import Attempt
from parity.logs import configure_logging

BODY = orjson.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi"}}],
                     "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}})


def _per_call_us(fn: Callable[[], None], n: int, repeats: int) -> tuple[float, float, float]:
    runs = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    cfg = parse_gateway_config({"endpoints": [{"name": "a", "base_url": "http://a.test/v1", "model": "m"}],
                                "models": [{"alias": "m", "endpoints": ["a"]}]})
    gw = create_app(cfg).state.gateway
    ev = gw.events
    rec: dict[str, Any] = {"method": "POST", "path": "/v1/chat/completions", "model": "m", "endpoint": "a",
                           "attempts": 1, "outcome": "ok", "input_tokens": 31, "output_tokens": 9, "status": 200,
                           "bytes": 281, "duration_ms": 8.6}
    att = Attempt("a", "ok", status=200, body=BODY, latency_s=0.02)
    devnull = open("/dev/null", "w")
    rows: list[tuple[str, tuple[float, float, float]]] = []
    for fmt in ("kv", "json"):
        configure_logging(fmt, "info", devnull)
        rows.append((f"access-log line ({fmt})", _per_call_us(lambda: ev.access(dict(rec)), args.n, args.repeats)))
    ev.access_sample = 0.0
    rows.append(("access log sampled out (--access-log 0)",
                 _per_call_us(lambda: ev.access(dict(rec)), args.n, args.repeats)))
    logging.getLogger("parity").setLevel(logging.WARNING)
    token = _RECORD.set(dict(rec))
    rows.append(("attempt hook: usage parse, token + spend metrics",
                 _per_call_us(lambda: ev.attempt(att, None), args.n, args.repeats)))
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from parity.gateway._otel import tracing

        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tr = tracing(provider)
        assert tr is not None

        def spans() -> None:
            with tr.request("POST", "/v1/chat/completions") as span:
                tr.attempt("a", "m", "ok", 0.02, {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 31})
                tr.annotate(span, {"http.response.status_code": 200})
            exporter.clear()

        rows.append(("two spans (request + attempt), in-memory exporter",
                     _per_call_us(spans, args.n // 4, args.repeats)))
    except ModuleNotFoundError:
        pass
    _RECORD.reset(token)
    print(f"n={args.n} calls x {args.repeats} repeats; CPU µs per call: median [min, max]")
    print("| what | µs per request (median [min, max]) |\n|---|---:|")
    for what, (med, lo, hi) in rows:
        print(f"| {what} | {med:.1f} [{lo:.1f}, {hi:.1f}] |")


if __name__ == "__main__":
    main()

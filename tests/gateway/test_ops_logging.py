"""The gateway's log: one event per line, parsed back; a fallback, an ejection and a
readmission are there with endpoint and reason; marker secrets are not."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from parity.fake import FakeEndpoint, HttpError, default_script
from parity.logs import configure_logging, parse_kv

from .conftest import make_config

KEY = "sk-MARKER-key-4b1d"
HEADER = "hdr-MARKER-value-77"
GATEWAY_KEY_HASHLESS = "client-MARKER-token-9"


class Leaky:
    """Fails with a 500 whose message repeats the request's headers (the key included)."""

    def __init__(self) -> None:
        self.failing = True
        self.fake = FakeEndpoint(self._script)
        self.seen: dict[str, str] = {}

    def _script(self, body: dict[str, Any]) -> Any:
        return HttpError(500, f"boom; you sent {self.seen}") if self.failing else default_script(body)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen = {k.decode(): v.decode() for k, v in scope["headers"]}
        await self.fake(scope, receive, send)


@pytest.fixture(params=["kv", "json"])
def log_lines(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    out = io.StringIO()
    root = logging.getLogger("parity")
    before = (root.level, root.propagate)
    handler = configure_logging(request.param, "debug", out)
    yield request.param, out
    root.removeHandler(handler)
    root.level, root.propagate = before


def _events(fmt: str, text: str) -> list[dict[str, Any]]:
    lines = [ln for ln in text.splitlines() if ln]
    return [json.loads(ln) if fmt == "json" else parse_kv(ln) for ln in lines]


async def test_fallback_ejection_readmission_logged_without_secrets(
    harness: Any, log_lines: tuple[str, io.StringIO]
) -> None:
    fmt, out = log_lines
    now = [1000.0]
    leaky = Leaky()
    cfg = make_config(["flaky", "ok"], alias={"policy": "price", "prices": {"flaky": 0}},
                      endpoint={"api_key_env": "MARKER_KEY", "headers": {"x-provider-token": HEADER}},
                      ejection={"probation_s": 10, "probe_successes": 2})
    h = harness({"flaky": leaky, "ok": FakeEndpoint()}, cfg, clock=lambda: now[0],
                environ={"MARKER_KEY": KEY})
    async with h.app.router.lifespan_context(h.app):
        for _ in range(3):
            r = await h.chat(headers={"authorization": f"Bearer {GATEWAY_KEY_HASHLESS}"})
            assert r.status_code == 200 and r.headers["x-parity-endpoint"] == "ok"
        assert not h.gw.ejector.admitted()["flaky"]
        leaky.failing = False
        now[0] += 11
        for name in h.gw.ejector.due_for_probe():
            await h.gw.probe(name)
        assert h.gw.ejector.admitted()["flaky"]
    text = out.getvalue()
    assert KEY not in text and HEADER not in text and GATEWAY_KEY_HASHLESS not in text
    events = _events(fmt, text)
    by = {}
    for e in events:
        by.setdefault(e["event"], []).append(e)
    start = by["gateway.start"][0]
    assert "flaky=http://flaky.test/v1#m-flaky" in str(start["endpoints"])
    assert "m:price:flaky+ok" in str(start["models"])
    fallbacks = by["fallback"]
    assert len(fallbacks) == 3
    assert {(f["endpoint"], f["reason"], f["to"], str(f["status"])) for f in fallbacks} == {
        ("flaky", "http_error", "ok", "500")}
    assert "***" in fallbacks[0]["error"]  # the echoed key was redacted, not dropped silently
    (ejected,) = by["endpoint.ejected"]
    assert ejected["endpoint"] == "flaky" and ejected["signal"] == "error_rate"
    assert "binomial tail" in ejected["reason"]
    assert [e["endpoint"] for e in by["endpoint.probing"]] == ["flaky"]
    probes = by["probe"]
    assert [p["result"] for p in probes] == ["continue", "readmitted"]
    (back,) = by["endpoint.readmitted"]
    assert back["endpoint"] == "flaky" and "2 good probes" in back["reason"]
    access = by["request"]
    assert len(access) == 3 and all(a["path"] == "/v1/chat/completions" for a in access)
    assert {(a["endpoint"], str(a["status"]), str(a["attempts"]), a["model"]) for a in access} == {
        ("ok", "200", "2", "m")}
    assert all(float(a["duration_ms"]) >= 0 for a in access)


async def test_access_log_sampling_keeps_errors(harness: Any, log_lines: tuple[str, io.StringIO]) -> None:
    fmt, out = log_lines
    h = harness({"a": FakeEndpoint()})
    h.gw.events.access_sample = 0.0  # successes not logged; errors always
    assert (await h.chat()).status_code == 200
    assert (await h.chat(model="nope")).status_code == 404
    access = [e for e in _events(fmt, out.getvalue()) if e["event"] == "request"]
    assert [str(a["status"]) for a in access] == ["404"]

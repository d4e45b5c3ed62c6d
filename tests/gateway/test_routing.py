"""Ejection and readmission, stickiness with its guard, ignore lists, ':verified', auth, request errors."""

from __future__ import annotations

from typing import Any

import pytest

from parity.fake import Answer, Call, FakeEndpoint, HttpError
from parity.gateway import hash_key
from parity.store import Store
from parity.verdict import Outcome, Verdict

from .conftest import TOOLS, make_config


class Switch:
    """A script that fails (or answers badly) while ``bad`` is set."""

    def __init__(self, bad: Any) -> None:
        self.bad = bad
        self.on = True

    def __call__(self, body: dict[str, Any]) -> Any:
        from parity.fake import default_script

        return self.bad if self.on else default_script(body)


async def test_ejection_needs_a_burst_then_probes_readmit(harness: Any) -> None:
    now = [1000.0]
    flaky = Switch(HttpError(500, "boom"))
    cfg = make_config(["flaky", "ok"], alias={"policy": "price", "prices": {"flaky": 0}},
                      ejection={"probation_s": 10, "probe_successes": 2})
    h = harness({"flaky": FakeEndpoint(flaky), "ok": FakeEndpoint()}, cfg, clock=lambda: now[0])
    assert (await h.chat()).status_code == 200
    assert h.gw.ejector.admitted()["flaky"]  # one failure is not a statistical signal
    for _ in range(2):
        assert (await h.chat()).status_code == 200
    assert not h.gw.ejector.admitted()["flaky"]
    assert h.metric("parity_gateway_ejections_total", endpoint="flaky", signal="error_rate") == 1
    before = len(h.fakes["flaky"].requests)
    r = await h.chat()
    assert r.headers["x-parity-attempts"] == "1" and len(h.fakes["flaky"].requests) == before
    health = (await h.client.get("/healthz")).json()
    assert health["endpoints"]["flaky"] == "ejected"
    flaky.on = False
    now[0] += 11  # probation over: probes decide
    for name in h.gw.ejector.due_for_probe():
        await h.gw.probe(name)
    assert h.gw.ejector.admitted()["flaky"]
    assert h.metric("parity_gateway_probes_total", endpoint="flaky", outcome="ok") == 2
    assert h.metric("parity_gateway_readmissions_total", endpoint="flaky") == 1
    assert h.total() == 4


async def test_tool_call_error_rate_ejects(harness: Any) -> None:
    bad = FakeEndpoint(lambda b: Answer(content=None, calls=(Call("get_weather", "{x"),)))
    h = harness({"bad": bad, "ok": FakeEndpoint()},
                make_config(["bad", "ok"], alias={"policy": "price", "prices": {"bad": 0}}))
    for _ in range(3):
        assert (await h.chat(tools=TOOLS)).status_code == 200
    assert h.metric("parity_gateway_ejections_total", endpoint="bad", signal="tool_call_error_rate") == 1


async def test_sticky_binding_follows_quality_not_only_errors(harness: Any) -> None:
    a = Switch(Answer(content=None, calls=(Call("get_weather", '{"city": 7}'),)))
    a.on = False
    cfg = make_config(["a", "b"], alias={"policy": "price", "prices": {"a": 0, "b": 1}, "sticky": True},
                      ejection={"min_failures": 50})
    h = harness({"a": FakeEndpoint(a), "b": FakeEndpoint()}, cfg)
    hdr = {"x-parity-session": "s1"}
    assert (await h.chat(tools=TOOLS, headers=hdr)).headers["x-parity-endpoint"] == "a"
    a.on = True  # a starts answering with schema-invalid calls: no HTTP error at all
    r = await h.chat(tools=TOOLS, headers=hdr)
    assert r.headers["x-parity-endpoint"] == "b" and r.headers["x-parity-attempts"] == "2"
    a.on = False  # a is fine again, and cheaper, but the session now stays on b
    n = len(h.fakes["a"].requests)
    assert (await h.chat(tools=TOOLS, headers=hdr)).headers["x-parity-endpoint"] == "b"
    assert len(h.fakes["a"].requests) == n
    # a new session (or a larger context class) gets a binding of its own
    assert (await h.chat(tools=TOOLS, headers={"x-parity-session": "s2"})).headers["x-parity-endpoint"] == "a"


async def test_ignore_list_is_a_vote_and_a_filter(harness: Any) -> None:
    h = harness({"a": FakeEndpoint(), "b": FakeEndpoint()})
    r = await h.chat(headers={"x-parity-ignore": "a, nosuch"})
    assert r.headers["x-parity-endpoint"] == "b"
    assert h.metric("parity_gateway_ignore_votes_total", endpoint="a") == 1
    assert h.metric("parity_gateway_ignore_votes_total", endpoint="nosuch") == 0
    r = await h.chat(headers={"x-parity-ignore": "a,b"})
    assert r.status_code == 503 and "ignored by the client" in r.json()["error"]["message"]


def _verdict(ep: str, outcome: Outcome, suite: str = "toolcall") -> Verdict:
    return Verdict(endpoint=ep, suite=suite, verdict=outcome, test="t", alpha=0.05, requests=10)


async def test_verified_routes_only_to_passing_endpoints(harness: Any, tmp_path: Any) -> None:
    store = Store(str(tmp_path / "v.db"))
    store.save_verdicts("run-1", [_verdict("good", Outcome.PASS), _verdict("bad", Outcome.FAIL)])
    cfg = make_config(["good", "bad", "new"], endpoint={"declared": {"quantization": "fp8"}})
    h = harness({n: FakeEndpoint() for n in ("good", "bad", "new")}, cfg, store=store)
    for _ in range(5):
        r = await h.chat(model="m:verified")
        assert r.headers["x-parity-endpoint"] == "good"
    assert r.headers["x-parity-verdict"] == "toolcall=pass"
    assert r.headers["x-parity-declared"] == '{"quantization":"fp8"}'
    served = {(await h.chat()).headers["x-parity-endpoint"] for _ in range(30)}
    assert served == {"good", "bad", "new"}  # plain alias: every healthy endpoint
    for _ in range(25):  # live bound: a passing verdict does not protect a failing endpoint
        h.gw.stats["good"].errors.add(True)
    r = await h.chat(model="m:verified")
    assert r.status_code == 503
    reasons = r.json()["error"]["parity"]["endpoints"]
    assert "live error rate" in reasons["good"] and "not passing" in reasons["bad"]
    assert reasons["new"] == "no verdict on record"
    store.close()


async def test_auth_with_hashed_keys(harness: Any) -> None:
    cfg = make_config(["a"], server={"api_key_hashes": [hash_key("sk-good")]})
    h = harness({"a": FakeEndpoint()}, cfg)
    assert (await h.chat()).status_code == 401
    assert (await h.chat(headers={"authorization": "Bearer sk-bad"})).json()["error"]["code"] == "invalid_api_key"
    assert (await h.chat(headers={"authorization": "Bearer sk-good"})).status_code == 200


@pytest.mark.parametrize(("content", "status", "param", "code"), [
    (b"{not json", 400, None, "invalid_json"),
    (b"[]", 400, None, None),
    (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model", None),
    (b'{"model": "m", "messages": "hi"}', 400, "messages", None),
    (b'{"model": "m", "messages": [{"role": "user"}], "tools": {}}', 400, "tools", None),
    (b'{"model": "m", "messages": [{"role": "user"}], "stream": "yes"}', 400, "stream", None),
    (b'{"model": "x", "messages": [{"role": "user"}]}', 404, "model", "model_not_found"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * 5000 + b'"}]}', 413, None,
     "request_too_large"),
])
async def test_malformed_requests_get_openai_errors(
    harness: Any, content: bytes, status: int, param: str | None, code: str | None
) -> None:
    h = harness({"a": FakeEndpoint()}, make_config(["a"], server={"max_request_bytes": 4096}))
    r = await h.client.post("/v1/chat/completions", content=content)
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"}
    assert err["param"] == param and err["code"] == code
    assert h.total() == 1 and not h.fakes["a"].requests


async def test_upstream_400_is_passed_to_the_client_not_retried(harness: Any) -> None:
    a = FakeEndpoint(lambda b: HttpError(400, "max_tokens too large"))
    h = harness({"a": a, "b": FakeEndpoint()}, make_config(["a", "b"], alias={"policy": "price", "prices": {"a": 0}}))
    r = await h.chat()
    assert r.status_code == 400 and "max_tokens too large" in r.json()["error"]["message"]
    assert not h.fakes["b"].requests and h.gw.stats["a"].errors.k == 0


async def test_provider_key_is_sent_upstream_and_never_echoed(harness: Any) -> None:
    a = FakeEndpoint(lambda b: HttpError(500, "bad key sk-secret-123"))
    cfg = make_config(["a"], endpoint={"api_key_env": "A_KEY"})
    h = harness({"a": a}, cfg, environ={"A_KEY": "sk-secret-123"})
    r = await h.chat()
    assert a.headers[0]["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret-123" not in r.text and r.status_code == 503
    assert "sk-secret-123" not in (await h.client.get("/metrics")).text

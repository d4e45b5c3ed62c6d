"""The runner in-process: verdicts, persistence, and resume without re-sending."""

from __future__ import annotations

import random
from typing import Any

from helpers import healthy_script, make_config, transports, weather_cases

from parity.case import Case
from parity.evidence import ExchangeExcerpt
from parity.fake import Answer, Call, FakeEndpoint, HttpError
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.suite import ToolcallSuite
from parity.verdict import Outcome


def broken_script(body: dict[str, Any]) -> Any:
    a = healthy_script(body)
    if a.calls and random.random() < 0.5:
        return Answer(content=None, calls=(Call("get_weather", '{"city": "Par'),))
    return a


async def test_replica_passes_and_broken_parser_fails(store: Store) -> None:
    random.seed(1)
    apps = {"ref": FakeEndpoint(healthy_script), "replica": FakeEndpoint(healthy_script),
            "broken": FakeEndpoint(broken_script)}
    cfg = make_config("ref", "replica", "broken")
    suite = ToolcallSuite(weather_cases(200))
    result = await Runner(cfg, [suite], store, transport=transports(apps)).run()
    by = {v.endpoint: v for v in result.verdicts}
    assert by["ref"].verdict is Outcome.REFERENCE and by["ref"].requests == 400  # run twice
    assert by["replica"].verdict is Outcome.PASS and by["replica"].requests == 200
    assert by["broken"].verdict is Outcome.FAIL
    assert by["broken"].failing_checks == ["tool_call.invalid_json"]
    first = by["broken"].evidence[0]
    assert isinstance(first, ExchangeExcerpt) and first.check == "tool_call.invalid_json"
    assert first.response.tool_calls and first.request is not None and first.request.tools == ["get_weather"]
    assert store.get_run(result.run.id).status == "complete"
    assert [v.endpoint for v in store.verdicts(result.run.id)] == ["ref", "replica", "broken"]


async def test_failing_endpoint_is_a_verdict_not_a_crash(store: Store) -> None:
    apps = {"ref": FakeEndpoint(healthy_script), "down": FakeEndpoint(lambda b: HttpError(503))}
    cfg = make_config("ref", "down", max_attempts=1)
    result = await Runner(cfg, [ToolcallSuite(weather_cases(30))], store, transport=transports(apps)).run()
    down = next(v for v in result.verdicts if v.endpoint == "down")
    # every request refused: the run could not judge it (issue 17), an error, not a statistical fail
    assert down.verdict is Outcome.ERROR and "request.http_error" in down.failing_checks
    assert down.reasons[0] == "error: failing -- 30/30 requests were not served (http_503 x30)"


async def test_few_cases_are_inconclusive_not_pass(store: Store) -> None:
    apps = {n: FakeEndpoint(healthy_script) for n in ("ref", "replica")}
    result = await Runner(make_config("ref", "replica"), [ToolcallSuite(weather_cases(10))], store,
                          transport=transports(apps)).run()
    replica = next(v for v in result.verdicts if v.endpoint == "replica")
    assert replica.verdict is Outcome.INCONCLUSIVE


async def test_resume_requests_only_what_is_missing(store: Store) -> None:
    apps = {n: FakeEndpoint(healthy_script) for n in ("ref", "replica")}
    cfg = make_config("ref", "replica")
    cases = weather_cases(20)
    runner = Runner(cfg, [ToolcallSuite(cases)], store, transport=transports(apps))
    run, resumed = runner.start()
    assert not resumed
    # Simulate an interrupted run: a third of the replica's exchanges were stored.
    import httpx

    from parity.client import ChatClient
    from parity.runner import EndpointSender

    client = ChatClient(cfg.endpoint("replica"), transport=httpx.ASGITransport(apps["replica"]))
    sender = EndpointSender(run_id=run.id, suite="toolcall", client=client, store=store, stored={},
                            progress=runner.progress)
    await sender.send_all((c, 0) for c in cases[:7])
    await client.aclose()
    before = {(x.case_hash, x.repeat): x.model_dump_json() for x in store.exchanges(run.id)}
    apps["replica"].requests.clear()

    again = Runner(cfg, [ToolcallSuite(cases)], store, transport=transports(apps))
    run2, resumed2 = again.start()
    assert resumed2 and run2.id == run.id
    result = await again.run(run2)
    assert len(apps["replica"].requests) == 13  # 20 cases - 7 stored
    assert result.sent == {"ref": 40, "replica": 13}
    after = {(x.case_hash, x.repeat): x.model_dump_json() for x in store.exchanges(run.id)
             if x.endpoint == "replica"}
    assert all(after[k] == v for k, v in before.items())  # nothing stored was lost or changed
    # A finished run is reused as it is (nothing sent), unless a new run is asked for.
    apps["replica"].requests.clear()
    third = Runner(cfg, [ToolcallSuite(cases)], store, transport=transports(apps))
    run3, found = third.start()
    assert found and run3.id == run.id and run3.status == "complete"
    reused = await third.run(run3)
    assert reused.sent == {} and apps["replica"].requests == []
    assert [v.model_dump() for v in reused.verdicts] == [v.model_dump() for v in result.verdicts]
    assert Runner(cfg, [ToolcallSuite(cases)], store, new_run=True).start()[1] is False


async def test_a_pattern_only_rusts_regex_understands_does_not_stop_a_run(store: Store) -> None:
    """``^\\p{Lu}+$`` is valid for jsonschema-rs, a crash for Python's re: a finding, not a traceback."""
    tool = {"type": "function", "function": {"name": "shout", "parameters": {
        "type": "object", "required": ["word"],
        "properties": {"word": {"type": "string", "pattern": r"^\p{Lu}+$"}}}}}
    cases = [Case(id=f"c{i}", body={"messages": [{"role": "user", "content": f"shout {i}"}], "tools": [tool]})
             for i in range(12)]

    def script(body: dict[str, Any]) -> Answer:
        n = int(body["messages"][-1]["content"].split()[-1])
        return Answer(content=None, calls=(Call("shout", '{"word": "%s"}' % ("ÉCOLE" if n % 2 else "école")),))

    apps = {n: FakeEndpoint(script) for n in ("ref", "cand")}
    result = await Runner(make_config("ref", "cand"), [ToolcallSuite(cases)], store, transport=transports(apps)).run()
    assert store.get_run(result.run.id).status == "complete"
    cand = next(v for v in result.verdicts if v.endpoint == "cand")
    assert cand.verdict in (Outcome.PASS, Outcome.INCONCLUSIVE, Outcome.FAIL)


async def test_a_journaled_sender_never_sends_a_request_twice(store: Store) -> None:
    """A request journaled by a process that died before storing its answer is not sent again."""
    import httpx

    from parity.client import ChatClient
    from parity.runner import EndpointSender
    from parity.watch import WatchStore
    from parity.watch._service import StoreJournal

    app = FakeEndpoint(healthy_script)
    cfg = make_config("ref")
    cases = weather_cases(4)
    journal = StoreJournal(WatchStore(store))
    # The crashed process: it journaled the first two requests; one answer was stored, one lost.
    assert await journal.claim(f"r1/ref/toolcall/{cases[0].hash}/0")
    assert await journal.claim(f"r1/ref/toolcall/{cases[1].hash}/0")
    assert not await journal.claim(f"r1/ref/toolcall/{cases[1].hash}/0")
    client = ChatClient(cfg.endpoint("ref"), transport=httpx.ASGITransport(app))
    first = EndpointSender(run_id="r1", suite="toolcall", client=client, store=store, stored={},
                           progress=Runner(cfg, [], store).progress)
    stored = {(cases[0].hash, 0): await first.send(cases[0])}
    app.requests.clear()
    sender = EndpointSender(run_id="r1", suite="toolcall", client=client, store=store, stored=stored,
                            progress=Runner(cfg, [], store).progress, journal=journal)
    out = await sender.send_all((c, 0) for c in cases)
    await client.aclose()
    assert [x.status.value for x in out] == ["ok", "interrupted", "ok", "ok"]
    assert len(app.requests) == 2  # only the two never journaled
    assert out[1].attempts == 0 and out[1].error is not None and "not sent again" in out[1].error
    assert {x.status.value for x in store.exchanges("r1")} == {"ok", "interrupted"}

"""The hostile corpus against /v1/responses and /v1/completions: zero 5xx, zero secrets, no hang.

Same app, upstreams and rules as test_corpus (chat); the upstreams reflect the
operator's key and header values in these APIs' own shapes (bodies and frames).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from .test_apis_hardening import HOSTILE_RESPONSES_TOOLS, ApiReflector
from .test_corpus import Probe, _app, _run
from .test_scrub import API_KEY, HEADER, leaked

APIS = {"responses": "input", "completions": "prompt"}


def _probes(api: str) -> Iterator[Probe]:
    path, field = f"/v1/{api}", APIS[api]

    def body(**fields: Any) -> bytes:
        return orjson.dumps({"model": "m", field: "hi", **fields})

    for i, raw in enumerate([b"", b"{", b"[]", b"null", b'"x"', b"{}", b"\xff\xfe", b"{" * 100_000, b"[" * 3000]):
        yield Probe(f"{api} raw[{i}]", raw, path=path)
    for depth in (63, 64, 65, 254, 255, 256, 1000, 1025):
        yield Probe(f"{api} depth {depth}", body()[:-1] + b', "x": ' + b"[" * depth + b"1" + b"]" * depth + b"}",
                    path=path)
    for v in [None, 0, 1.5, True, "", [], {}, [1], {"a": 1}, "x" * 10_000, "\u0000"]:
        yield Probe(f"{api} {field}={v!r:.20}", orjson.dumps({"model": "m", field: v}), path=path)
        yield Probe(f"{api} model={v!r:.20}", orjson.dumps({"model": v, field: "hi"}), path=path)
    for v in [1, "true", None, []]:
        yield Probe(f"{api} stream={v!r}", body(stream=v), path=path)
    yield Probe(f"{api} over max_request_bytes", body(pad="x" * 70_000), path=path)
    yield Probe(f"{api} lying content-length", body(), path=path, headers={"content-length": "999999999"})
    if api == "responses":
        for i, tools in enumerate(HOSTILE_RESPONSES_TOOLS):
            for stream in (False, True):
                yield Probe(f"{api} hostile tools[{i}] stream={stream}", body(tools=tools, stream=stream), path=path)
        many = [{"type": "function", "name": f"f{i}", "parameters": {"type": "object"}} for i in range(300)]
        yield Probe(f"{api} 300 tools", body(tools=many), path=path)
    for content in ["hi", "repeat your headers", API_KEY[:10], HEADER, "\u00e9" * 100]:
        for stream in (False, True):
            yield Probe(f"served {api} {content[:8]!r} stream={stream}",
                        orjson.dumps({"model": "m", field: content, "stream": stream}), path=path)


async def test_hostile_requests_to_the_other_apis_get_no_5xx_no_secret() -> None:
    results = []
    for keyed in (False, True):
        app = _app(keyed, {"a": ApiReflector(), "b": ApiReflector(piece=2)})
        results += await _run(app, [p for api in APIS for p in _probes(api)], keyed)
        assert app.state.gateway.ejector.admitted() == {"a": True, "b": True}
    assert len(results) >= 200
    assert [(p.what, r.status_code, r.text[:200]) for p, r in results if r.status_code >= 500] == []
    assert [(p.what, leaked(r.content)) for p, r in results if leaked(r.content) or leaked(str(r.headers))] == []
    for p, r in results:
        if r.status_code >= 400:
            assert r.json()["error"]["message"] and "Traceback" not in r.text, p.what
    served = [(p.what, r.status_code) for p, r in results if p.what.startswith("served")]
    assert served and all(status == 200 for _, status in served), served


async def test_hostile_upstreams_of_the_other_apis_give_typed_failures() -> None:
    results = []
    for mode in ("http400", "http500"):
        app = _app(False, {mode: ApiReflector(mode)})
        probes = [Probe(f"{mode} {api} stream={s}", orjson.dumps({"model": "m", APIS[api]: "hi", "stream": s}),
                        path=f"/v1/{api}") for api in APIS for s in (False, True)]
        results += await _run(app, probes, keyed=False)
    huge = _app(False, {"huge": ApiReflector(pad=300_000)})  # past max_response_bytes (100 kB here)
    results += await _run(huge, [Probe(f"huge {api} stream={s}", orjson.dumps(
        {"model": "m", APIS[api]: "hi", "stream": s}), path=f"/v1/{api}")
        for api in APIS for s in (False, True)], False)
    assert [(p.what, r.status_code) for p, r in results if r.status_code == 500 or r.status_code < 400] == []
    assert [p.what for p, r in results if leaked(r.content)] == []
    for p, r in results:
        assert "10.1.2.3" not in r.text and "<html" not in r.text and "Error:" not in r.text, p.what

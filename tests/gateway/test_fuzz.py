"""Property-based fuzzing of the gateway's request parser, through the whole app.

Whatever the body -- arbitrary bytes, arbitrary JSON, or a chat request whose
fields are arbitrary JSON -- the answer is a 2xx or a typed 4xx: never a 5xx,
never a hang (each request is bounded), never a configured secret.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.gateway import create_app

from .conftest import make_config
from .test_scrub import API_KEY, HEADER, PASSWORD, Reflector, leaked

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
SCHEMA_KEYS = st.sampled_from(["type", "properties", "required", "enum", "items", "$ref", "anyOf", "not",
                               "minimum", "maximum", "pattern", "const", "additionalProperties"])
SCHEMA = st.recursive(
    st.booleans() | st.dictionaries(SCHEMA_KEYS, JSON, max_size=4),
    lambda children: st.dictionaries(SCHEMA_KEYS, children | JSON, max_size=4),
    max_leaves=20,
)
TOOL = st.fixed_dictionaries({"type": st.sampled_from(["function", "x"]) | JSON, "function": st.fixed_dictionaries(
    {"name": st.from_regex(r"[A-Za-z0-9_.:-]{1,70}", fullmatch=True) | JSON, "parameters": SCHEMA | JSON})}) | JSON
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool"]) | JSON,
                                 "content": st.text() | JSON})
CHAT = st.fixed_dictionaries(
    {"model": st.sampled_from(["m", "m:verified", "nope"]) | JSON,
     "messages": st.lists(MESSAGE, max_size=4) | JSON},
    optional={"tools": st.lists(TOOL, max_size=3) | JSON, "stream": st.booleans() | JSON,
              "tool_choice": JSON, "max_tokens": JSON, "n": JSON, "extra": JSON},
)
def _dumps(x: Any) -> bytes:
    return json.dumps(x).encode()  # stdlib: it writes integers past 64 bits, which clients may send


BODY = st.binary(max_size=300) | JSON.map(_dumps) | CHAT.map(_dumps)
HEADERS = st.dictionaries(st.sampled_from(["x-parity-ignore", "x-parity-session", "x-session-id", "content-type"]),
                          st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=50), max_size=3)


def test_the_request_parser_never_fails_hangs_or_leaks() -> None:
    cfg = make_config(["a", "b"], urls={n: f"http://user:{PASSWORD}@{n}.test/v1" for n in ("a", "b")},
                      endpoint={"api_key_env": "KEY", "headers": {"x-provider-key": HEADER}})
    app = create_app(cfg, transports={"a": httpx.ASGITransport(Reflector()),
                                      "b": httpx.ASGITransport(Reflector(piece=2))},
                     environ={"KEY": API_KEY})
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw")
    seen: dict[int, int] = {}

    async def send(body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with asyncio.timeout(30):  # a hang fails
            return await client.post("/v1/chat/completions", content=body, headers=headers)

    @settings(max_examples=400, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=BODY, headers=HEADERS)
    def one(body: bytes, headers: dict[str, str]) -> None:
        r = loop.run_until_complete(send(body, headers))
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500 or _client_excluded_all(body, headers, r), (body[:200], r.status_code, r.text[:300])
        assert leaked(r.content) == [] and leaked(str(r.headers)) == []
        if r.status_code >= 400:
            assert r.json()["error"]["message"]

    try:
        one()
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(app.state.gateway.aclose())
        loop.close()
    assert sum(n for s, n in seen.items() if 400 <= s < 500) > 100 and seen.get(200, 0) > 0


def _client_excluded_all(body: bytes, headers: dict[str, str], r: httpx.Response) -> bool:
    """The one 5xx a client can choose: ':verified' with no verdict on record, or every endpoint ignored."""
    try:
        model: Any = orjson.loads(body).get("model")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    ignored = {x.strip() for x in headers.get("x-parity-ignore", "").split(",")}
    chose = model == "m:verified" or {"a", "b"} <= ignored
    return chose and r.status_code == 503 and r.json()["error"]["code"] == "no_endpoint_available"

"""Secrets: every configured secret, in every spelling it can take, masked before anything is written."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import orjson
from helpers import make_config

from parity.exchange import Completion, Exchange, ExchangeStatus, ToolCall
from parity.redaction import MASK, Secrets, url_secrets

HEADER = 'hv-HDRMARK-"quoted"\\back/slash-0123'
KEY = "sk-KEYMARK-0123456789"


def test_every_spelling_is_masked() -> None:
    s = Secrets([HEADER])
    escaped = orjson.dumps(HEADER).decode()[1:-1]
    spellings = [HEADER, escaped, orjson.dumps(escaped).decode()[1:-1], json.dumps(HEADER)[1:-1],
                 repr(HEADER)[1:-1], quote(HEADER, safe=""), escaped.replace("/", "\\/")]
    for text in spellings:
        out = s.redact(f"before {text} after")
        assert "HDRMARK" not in out and out == f"before {MASK} after", text


def test_a_cut_excerpt_ending_in_a_secret_is_masked() -> None:
    s = Secrets([KEY])
    body = f'{{"error": "bad key {KEY}"}}'
    for cut in range(len(body) - len(KEY) + 4, len(body)):
        assert "KEYM" not in s.redact(body[:cut], excerpt=True)
    # a whole answer is not an excerpt: a word that merely starts like a key stays
    assert s.redact("ends with sk-K") == "ends with sk-K"


def test_short_values_are_not_secrets_and_nothing_is_a_secret_by_default() -> None:
    assert not Secrets(["yes", "", None])
    assert Secrets().redact("anything sk-KEYMARK") == "anything sk-KEYMARK"


def test_structures_are_walked_keys_included() -> None:
    s = Secrets([KEY])
    value = {"a": [KEY, {"nested": f"x{KEY}y", KEY: 1}], "n": 3, "t": True}
    out = s.redact_value(value)
    assert KEY not in orjson.dumps(out).decode()
    assert out["n"] == 3 and out["t"] is True and out["a"][1]["nested"] == f"x{MASK}y"


def test_url_passwords_and_their_basic_credential() -> None:
    vals = url_secrets("http://alice:p%40ss-PWMARK@host.test/v1")
    assert "p%40ss-PWMARK" in vals and "p@ss-PWMARK" in vals
    assert base64.b64encode(b"alice:p@ss-PWMARK").decode() in vals
    assert url_secrets("http://host.test/v1") == []


def test_for_endpoints_collects_keys_headers_and_url_passwords() -> None:
    cfg = make_config("ref", "cand", headers={"x-provider-key": HEADER})
    eps = [cfg.endpoints[0].model_copy(update={"base_url": "http://u:PWMARK-123@ref.test/v1"}),
           cfg.endpoints[1]]
    s = Secrets.for_endpoints(eps, {"ref": KEY, "cand": None})
    assert set(s.values) >= {KEY, HEADER, "PWMARK-123"}


def test_text_safe_values_cannot_corrupt_json() -> None:
    s = Secrets(["true", "12345678", "1e100000", KEY])
    assert s.text_safe() == [KEY]


def test_an_exchange_is_redacted_everywhere() -> None:
    s = Secrets([KEY, HEADER])
    ex = Exchange(
        run_id="r", endpoint="e", suite="s", case_id="c", case_hash="h",
        status=ExchangeStatus.OK, request={"messages": [{"role": "user", "content": KEY}]},
        response={"choices": [{"message": {"content": f"you sent {HEADER}"}}], "echo": {"k": KEY}},
        completion=Completion(content=f"you sent {HEADER}",
                              tool_calls=[ToolCall(name="f", arguments=orjson.dumps({"k": KEY}).decode())]),
        error=f"HTTP 401: bad {KEY}", raw_excerpt='{"h": "' + orjson.dumps(HEADER).decode()[1:-5],
        stream_anomalies=[f"odd {KEY}"],
    )
    out = ex.redacted(s)
    text = out.model_dump_json()
    assert "KEYMARK" not in text and "HDRMARK" not in text
    assert out.completion is not None and out.completion.content == f"you sent {MASK}"
    assert ex.redacted(Secrets()) is ex


def test_an_excerpt_cut_inside_a_secret_is_masked_even_when_nothing_else_is_there() -> None:
    s = Secrets([KEY])
    ex = Exchange(run_id="r", endpoint="e", suite="s", case_id="c", case_hash="h",
                  status=ExchangeStatus.HTTP_ERROR, request={}, error="HTTP 401: bad key " + KEY[:9],
                  raw_excerpt='{"error": "bad key ' + KEY[:12])
    out = ex.redacted(s)
    assert out.error == f"HTTP 401: bad key {MASK}" and out.raw_excerpt == '{"error": "bad key ' + MASK
    clean = Exchange(run_id="r", endpoint="e", suite="s", case_id="c", case_hash="h",
                     status=ExchangeStatus.OK, request={"messages": []}, response={"choices": []})
    assert clean.redacted(s) is clean  # nothing to mask: no copy

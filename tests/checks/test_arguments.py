"""One rule for a tool call's arguments: every reader agrees with ``load_arguments`` on one table,
and K2VV's reading differs from it only where K2VV's own code does."""

from __future__ import annotations

from typing import Any

import pytest

from parity.checks import (
    INVALID_JSON,
    SchemaCache,
    canonical_arguments,
    check_call,
    k2vv_load_arguments,
    load_arguments,
)
from parity.checks.conformance import call_signature
from parity.exchange import ToolCall
from parity.suites.conformance._content import _argument_strings
from parity.suites.toolcall.k2vv import k2vv_tool_calls_valid
from parity.suites.toolcall.observe import bfcl_calls

INVALID = object()
BIG = 123456789012345678901234567890

# text, parity's value (INVALID: not arguments), K2VV's value (INVALID: K2VV says invalid)
TABLE: list[tuple[str, Any, Any]] = [
    ('{"city": "Paris"}', {"city": "Paris"}, {"city": "Paris"}),
    (' \n{"city": "Paris"}\t', {"city": "Paris"}, {"city": "Paris"}),
    ("", {}, INVALID),  # "no arguments" for parity; json.loads("") fails in K2VV
    ("  ", {}, INVALID),
    ("{}", {}, {}),
    ('{"city": "Par', INVALID, INVALID),
    ("city=Paris", INVALID, INVALID),
    ('"Paris"', "Paris", "Paris"),  # JSON, but not an object: the schema decides
    ("[1, 2]", [1, 2], [1, 2]),
    ("null", None, None),
    ('{"a": NaN}', INVALID, "nan"),  # not JSON (RFC 8259); Python's json reads it
    (f'{{"a": {BIG}}}', {"a": float(BIG)}, {"a": BIG}),  # orjson reads a float, Python an int
]
IDS = [repr(t[0])[:24] for t in TABLE]


def _same(got: Any, want: Any) -> bool:
    if want == "nan":
        return isinstance(got, dict) and got["a"] != got["a"]
    return type(got) is type(want) and got == want and (
        not isinstance(got, dict) or all(type(got[k]) is type(want[k]) for k in got))


@pytest.mark.parametrize(("text", "value", "k2vv"), TABLE, ids=IDS)
def test_the_rule(text: str, value: Any, k2vv: Any) -> None:
    got, error = load_arguments(text)
    assert (error is not None) if value is INVALID else (error is None and _same(got, value))
    got, error = k2vv_load_arguments(text)
    assert (error is not None) if k2vv is INVALID else (error is None and _same(got, k2vv))


@pytest.mark.parametrize(("text", "value", "k2vv"), TABLE, ids=IDS)
def test_every_reader_follows_it(text: str, value: Any, k2vv: Any) -> None:
    call = ToolCall(name="f", arguments=text)
    # the tool-call checks (verifier and gateway): invalid_json exactly when the rule says so
    found = [f.check for f in check_call(call, {"f": {}}, SchemaCache())]
    assert found == ([INVALID_JSON] if value is INVALID else [])
    # signatures (conformance probes, the watch's canary): canonical JSON, else the raw text
    assert call_signature([call]) == [("f", canonical_arguments(text))]
    assert canonical_arguments(text).startswith("raw:") == (value is INVALID)
    # BFCL's matcher: the value when it is an object
    want = value if isinstance(value, dict) else {"__invalid__": True}
    assert bfcl_calls([call]) == [("f", want)]
    # the foreign-script probe scans the strings inside the arguments, else the raw text
    assert _argument_strings(text) == (["Paris"] if "Paris" in text and value is not INVALID
                                       else [text] if value is INVALID else [])


@pytest.mark.parametrize(("text", "value", "k2vv"), TABLE, ids=IDS)
def test_k2vv_follows_its_own_reading(text: str, value: Any, k2vv: Any) -> None:
    anything = {"type": ["object", "array", "string", "number", "null"]}
    tool = {"type": "function", "function": {"name": "f", "parameters": anything}}
    assert k2vv_tool_calls_valid([ToolCall(name="f", arguments=text)], [tool]) is (k2vv is not INVALID)


def test_k2vv_reads_big_integers_exactly() -> None:
    """K2VV's json.loads keeps an integer past 64 bits exact; orjson would round it to a float."""
    schema = {"type": "object", "properties": {"a": {"const": BIG}}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    assert k2vv_tool_calls_valid([ToolCall(name="f", arguments=f'{{"a": {BIG}}}')], [tool]) is True

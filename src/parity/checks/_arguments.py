"""The one rule for reading a tool call's ``arguments`` string.

parity's rule, used by every check, probe, suite, the gateway and the watch:

* the text is stripped of surrounding white space;
* an empty (or all-white-space) string means "no arguments", the object ``{}``:
  many servers send it for a call to a tool without parameters;
* anything else must be one strict JSON text (RFC 8259: no ``NaN`` or
  ``Infinity``, no lone surrogates), read with orjson. Any JSON value is
  returned, object or not; whether it fits is the tool's schema's business
  (a list fails ``"type": "object"``), and a caller that needs an object
  (BFCL's matcher) checks for one.

K2VV's rule differs on purpose, and only for the K2VV-compatible metrics: it
reads the string with Python's ``json.loads`` as its ``tool_calls_eval.py``
does, so an empty string is invalid, while ``NaN``, integers past 64 bits and
lone surrogates are read as Python reads them (:func:`k2vv_load_arguments`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from parity.exchange import ToolCall


def load_arguments(text: str) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` when ``text`` is not valid arguments."""
    text = text.strip()
    if not text:
        return {}, None
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        return None, str(exc)


def parse_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """:func:`load_arguments` of a call's argument string."""
    return load_arguments(call.arguments)


def canonical_arguments(text: str) -> str:
    """The arguments as JSON with sorted keys (equal values, equal strings), or ``"raw:"`` and
    the stripped text when they are not valid."""
    value, error = load_arguments(text)
    if error is not None:
        return "raw:" + text.strip()
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def k2vv_load_arguments(text: str) -> tuple[Any, str | None]:
    """K2VV's reading: Python's ``json.loads`` of the string as it is (no empty-string rule)."""
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        return None, str(exc)

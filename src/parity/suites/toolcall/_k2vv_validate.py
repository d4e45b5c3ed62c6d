"""K2VV's per-request verdict, computed from a parity Exchange.

So that a parity run can be summarised, compared and written exactly as K2VV
would have done it had K2VV sent the requests itself. K2VV's rules, as read in
its ``tool_calls_eval.py``: a call is valid when its name is among the
request's tools, that tool has a non-empty ``parameters`` schema, the
arguments parse with Python's ``json.loads`` (``k2vv_load_arguments``: an empty
string does not), and ``jsonschema.validate`` passes -- which validates with the
draft the schema declares, the newest draft when it declares none. A ``tool_calls``
answer is valid when all its calls are; with no calls at all it is left undecided
(null), which K2VV's summary counts as a schema error.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import exceptions as js_exceptions
from jsonschema import validators
from referencing.exceptions import Unresolvable

from parity.checks import LOCAL_REGISTRY, k2vv_load_arguments
from parity.exchange import Exchange, ToolCall
from parity.suites.toolcall._k2vv_models import K2VVResult


def _schema_for(name: str | None, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and fn.get("name") == name:
            params = fn.get("parameters")
            return params if isinstance(params, dict) else None
    return None


def _call_valid(call: ToolCall, tools: list[dict[str, Any]]) -> bool:
    schema = _schema_for(call.name, tools)
    if not schema:  # unknown name, or a tool without parameters: K2VV says invalid
        return False
    args, error = k2vv_load_arguments(call.arguments)
    if error is not None:
        return False
    try:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        # no $ref leaves the schema: a dataset's schema is as untrusted as a client's
        return bool(cls(schema, registry=LOCAL_REGISTRY).is_valid(args))
    except (js_exceptions.SchemaError, Unresolvable, re.error):
        # a schema that refers outside itself, or a pattern Python's re cannot compile
        return False


def k2vv_tool_calls_valid(calls: list[ToolCall], tools: list[dict[str, Any]]) -> bool | None:
    """All calls valid under K2VV's rules; None when there are no calls to judge."""
    if not calls:
        return None
    return all(_call_valid(c, tools) for c in calls)


def k2vv_result_from_exchange(exchange: Exchange, data_index: int) -> K2VVResult:
    """The line K2VV would have written to its results file for this Exchange.

    ``hash`` holds parity's case hash, not K2VV's md5 of the prepared request
    (which includes the model name); nothing in K2VV's arithmetic reads it.
    """
    completion = exchange.completion if exchange.ok else None
    finish_reason: str | None = None
    valid: bool | None = None
    if completion is not None:
        finish_reason = completion.finish_reason
        if finish_reason is None and exchange.streamed:
            finish_reason = "stop"  # K2VV's stream reassembly defaults a missing reason to stop
        if finish_reason == "tool_calls":
            raw_tools = exchange.request.get("tools") or []
            tools = [t for t in raw_tools if isinstance(t, dict)]
            valid = k2vv_tool_calls_valid(completion.tool_calls, tools)
    response = (
        exchange.response
        if completion is not None
        else {"error": exchange.error or exchange.status.value}
    )
    return K2VVResult(
        data_index=data_index,
        request=exchange.request,
        response=response,
        status="success" if completion is not None else "failed",
        finish_reason=finish_reason,
        tool_calls_valid=valid,
        last_run_at=exchange.started_at.isoformat() if exchange.started_at else None,
        duration_ms=int(exchange.latency_s * 1000),
        hash=exchange.case_hash,
    )

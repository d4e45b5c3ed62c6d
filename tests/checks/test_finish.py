"""One finish_reason rule: the tool-call check and the conformance invariant agree on every case."""

from __future__ import annotations

import pytest

from parity.checks import check_finish_reason
from parity.checks.conformance import FINISH_INCONSISTENT, FINISH_MISSING, check_finish_invariants
from parity.exchange import Completion, ToolCall

CALL = ToolCall(name="f", arguments="{}")


@pytest.mark.parametrize(("calls", "finish", "bad"), [
    ([CALL], "tool_calls", False),
    ([CALL], "function_call", False),
    ([CALL], "length", False),  # cut off by max_tokens mid-call: the call's own checks judge it
    ([CALL], "stop", True),
    ([CALL], None, True),
    ([], "stop", False),
    ([], "length", False),
    ([], "tool_calls", True),
])
def test_one_rule_for_both_checks(calls: list[ToolCall], finish: str | None, bad: bool) -> None:
    c = Completion(tool_calls=calls, finish_reason=finish)
    assert bool(check_finish_reason(c)) is bad
    conformance = {f.check for f in check_finish_invariants(c)}
    assert conformance == ({FINISH_MISSING} if finish is None else {FINISH_INCONSISTENT} if bad else set())

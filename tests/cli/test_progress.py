"""Progress bars: per endpoint and suite, totals that end where the run ended, failures by kind."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from parity.cli._progress import RichProgress
from parity.exchange import Completion, Exchange, ExchangeStatus, ToolCall

TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def _x(suite: str, status: ExchangeStatus = ExchangeStatus.OK, args: str | None = None,
       http: int | None = None) -> Exchange:
    calls = [ToolCall(name="f", arguments=args)] if args is not None else []
    done = Completion(content=None if calls else "hi", tool_calls=calls,
                      finish_reason="tool_calls" if calls else "stop")
    body: dict[str, Any] = {"messages": [], "tools": TOOLS}
    return Exchange(status=status, http_status=http, completion=done if status is ExchangeStatus.OK else None,
                    run_id="r", endpoint="e", suite=suite, case_id="c", case_hash="h", request=body)


def test_totals_per_suite_kinds_and_escaped_names() -> None:
    out = io.StringIO()
    progress = RichProgress.make(Console(file=out, width=200, force_terminal=False))
    bars = RichProgress(progress)
    with progress:
        bars.planned("[ep]", "toolcall", 3, 1)
        for x in (_x("toolcall", args='{"a": 1'), _x("toolcall", ExchangeStatus.CONNECT_ERROR),
                  _x("toolcall")):  # one more than planned: the total follows
            bars.advance("[ep]", x)
        bars.planned("[ep]", "conformance", 10, 0)
        bars.advance("[ep]", _x("conformance", ExchangeStatus.HTTP_ERROR, http=503))
        bars.advance("[ep]", _x("conformance", ExchangeStatus.INVALID_BODY))
        bars.finish()
    tasks = {t.description: t for t in progress.tasks}
    assert set(tasks) == {"\\[ep] · toolcall", "\\[ep] · conformance"}  # escaped: not markup
    assert (tasks["\\[ep] · toolcall"].completed, tasks["\\[ep] · toolcall"].total) == (4, 4)
    assert (tasks["\\[ep] · conformance"].completed, tasks["\\[ep] · conformance"].total) == (2, 2)
    assert bars.failures() == {("[ep]", "toolcall"): {"invalid": 1, "transport": 1},
                               ("[ep]", "conformance"): {"transport": 1, "invalid": 1}}
    text = out.getvalue()
    assert "[ep] · toolcall" in text and "1 transport errors, 1 invalid answers" in text

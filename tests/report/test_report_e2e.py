"""A real run against fake endpoints, one of them hostile, reported from the store."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from helpers import healthy_script, make_config, transports, weather_cases

from parity.fake import Answer, Call, FakeEndpoint
from parity.report import write_report
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.suite import ToolcallSuite

from .test_report_html import parse
from .test_report_markdown import CELL_SPLIT, tables

PAYLOAD = "<script>document.title='owned'</script>"


def hostile_script(body: dict[str, Any]) -> Answer:
    a = healthy_script(body)
    if a.calls and random.random() < 0.5:
        return Answer(content=PAYLOAD, calls=(Call("get_weather", '{"city": "<img src=x onerror=alert(1)>'),))
    return a


async def test_report_of_a_real_run(store: Store, tmp_path: Path) -> None:
    random.seed(3)
    apps = {"ref": FakeEndpoint(healthy_script), "replica": FakeEndpoint(healthy_script),
            "hostile": FakeEndpoint(hostile_script)}
    cfg = make_config("ref", "replica", "hostile")
    result = await Runner(cfg, [ToolcallSuite(weather_cases(120))], store, transport=transports(apps)).run()
    run_id = result.run.id
    paths = write_report(store.get_run(run_id), store.verdicts(run_id), tmp_path)

    html = paths.html.read_text()
    page = parse(html)
    assert page.errors == []
    outcomes = {r["data-endpoint"]: r["data-outcome"] for r in page.rows}
    assert outcomes == {"ref": "reference", "replica": "pass", "hostile": "fail"}
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert PAYLOAD in "".join(page.text)  # shown to the reader as text
    assert "tool_call.invalid_json" in html and "Failing examples" in html

    md = paths.markdown.read_text()
    for t in tables(md):
        assert len({len(CELL_SPLIT.split(row.strip())) for row in t}) == 1
    assert "❌ fail" in md and "✅ pass" in md

"""The quality / speed / price section: three columns with intervals, spend, box plots, escaped."""

from __future__ import annotations

from parity.report import render_html, render_markdown, results_json
from parity.store import RunRecord
from parity.verdict import Estimate, Outcome, Verdict
from parity.verdict import TestResult as Check

from .report_samples import make_run

EVIL = "<script>alert(1)</script>"


def _verdicts() -> list[Verdict]:
    def acc(name: str, value: float, outcome: Outcome) -> Verdict:
        return Verdict(endpoint=name, suite="accuracy", verdict=outcome, test="t", alpha=0.05, requests=80,
                       metrics={"accuracy": Estimate(value=value, low=value - 0.1, high=value + 0.1, n=40),
                                "tokens_prompt": Estimate(value=4000, n=80),
                                "tokens_completion": Estimate(value=800, n=80),
                                "cost_usd": Estimate(value=0.0123, n=80)},
                       tests=[Check(name="item_spread",
                                         detail={"item_spread": [0.0, 0.25, value, 0.75, 1.0]})])

    speed = Verdict(endpoint="q8", suite="speed", verdict=Outcome.PASS, test="t", alpha=0.05, requests=30,
                    metrics={"tokens_per_s.p50[≤128]": Estimate(value=55.0, low=50.0, high=60.0, n=10)})
    return [acc("ref", 0.6, Outcome.REFERENCE), acc("q8", 0.4, Outcome.FAIL),
            acc(EVIL, 0.5, Outcome.INCONCLUSIVE), speed]


def _run() -> RunRecord:
    run = make_run()
    run.config["endpoints"][1]["price"] = {"input": 0.2, "output": 0.8}
    return run


def test_html_section_ranks_by_quality_and_escapes() -> None:
    html = render_html(_run(), _verdicts())
    section = html[html.index('id="choice"'):]
    assert section.index(">ref<") < section.index("&lt;script&gt;") < section.index(">q8<")
    assert "0.2 / 0.8" in section and "55.0 [50.0, 60.0]" in section and "<svg" in section
    assert EVIL not in html


def test_markdown_and_json_carry_the_section_and_spend() -> None:
    md = render_markdown(_run(), _verdicts())
    assert "## Quality, speed and price" in md and "not configured" in md
    data = results_json(_run(), _verdicts())
    rows = {r["endpoint"]: r for r in data["choice"]}
    assert rows["q8"]["price_usd_per_mtok"] == {"input": 0.2, "output": 0.8}
    assert rows["q8"]["speed_tokens_per_s_p50"]["value"] == 55.0
    assert rows["ref"]["tokens"] == {"prompt": 4000, "completion": 800}
    assert {(s["endpoint"], s["suite"]) for s in data["spend"]} >= {("q8", "accuracy"), ("q8", "speed")}


def test_no_section_without_accuracy_or_speed() -> None:
    from .report_samples import make_verdicts

    assert 'id="choice"' not in render_html(make_run(), make_verdicts())


def test_speed_column_compares_one_bucket_for_every_endpoint() -> None:
    def speed(name: str, buckets: dict[str, float]) -> Verdict:
        metrics = {}
        for b, v in buckets.items():
            metrics[f"tokens_per_s.p50[{b}]"] = Estimate(value=v, low=v - 1, high=v + 1, n=30)
            metrics[f"ttft_s.p50[{b}]"] = Estimate(value=v / 100, low=v / 200, high=v / 50, n=30)
        metrics["ttft_s.p50"] = Estimate(value=9.9, n=60)  # pooled over lengths: never in the column
        return Verdict(endpoint=name, suite="speed", verdict=Outcome.PASS, test="t", alpha=0.05,
                       requests=60, metrics=metrics)

    verdicts = [speed("ref", {"≤128": 50.0, "129–512": 40.0}), speed("q8", {"129–512": 30.0})]
    rows = {r["endpoint"]: r for r in results_json(_run(), verdicts)["choice"]}
    assert rows["ref"]["speed_bucket"] == rows["q8"]["speed_bucket"] == "[129–512]"
    assert rows["ref"]["speed_tokens_per_s_p50"]["value"] == 40.0
    assert rows["ref"]["ttft_s_p50"]["value"] == 0.4
    both = [speed("ref", {"≤128": 50.0, "129–512": 40.0}), speed("q8", {"≤128": 20.0, "129–512": 30.0})]
    rows = {r["endpoint"]: r for r in results_json(_run(), both)["choice"]}
    assert rows["q8"]["speed_bucket"] == "[≤128]" and rows["q8"]["speed_tokens_per_s_p50"]["value"] == 20.0


def test_spend_per_endpoint_shows_in_a_run_without_accuracy_or_speed() -> None:
    v = Verdict(endpoint="q8", suite="toolcall", verdict=Outcome.PASS, test="t", alpha=0.05, requests=40,
                metrics={"tokens_prompt": Estimate(value=1200, n=40), "tokens_completion": Estimate(value=300, n=40),
                         "cost_usd": Estimate(value=0.0006, n=40)})
    md = render_markdown(_run(), [v])
    assert "## Quality, speed and price" in md and "1200 / 300" in md


def test_the_section_states_the_task_set_escaped() -> None:
    ref = _verdicts()[0]
    about = Check(name="task_set", detail={"spec": EVIL, "scorers": ["ifbench"], "items": 247,
                                           "not_scorable_offline": 47})
    verdicts = [ref.model_copy(update={"tests": [*ref.tests, about]}), *_verdicts()[1:]]
    html = render_html(_run(), verdicts)
    section = html[html.index('id="choice"'):]
    assert "(scorer ifbench), 247 items; 47 items not scorable offline" in section
    assert EVIL not in html and "&lt;script&gt;" in section
    assert "247 items; 47 items not scorable offline" in render_markdown(_run(), verdicts)
    assert "Quality measured on" not in render_markdown(_run(), _verdicts())  # no task_set: no line

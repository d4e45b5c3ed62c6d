"""The [watch] section: strict, per-endpoint overrides, levels from durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config import ConfigError, load_config
from parity.watch import load_watch

BASE = """
[[endpoints]]
name = "ref"
base_url = "http://127.0.0.1:1/v1"
model = "m"
reference = true

[[endpoints]]
name = "q8"
base_url = "http://127.0.0.1:2/v1"
model = "m"
"""


def _write(tmp_path: Path, watch: str) -> Path:
    p = tmp_path / "parity.toml"
    p.write_text(BASE + watch, encoding="utf-8")
    return p


def test_loads_defaults_and_overrides(tmp_path: Path) -> None:
    p = _write(tmp_path, """
[watch]
arl_days = 30
[watch.sentinel]
period_minutes = 5
[watch.endpoints.q8]
period_minutes = 2
requests_per_day = 100
[watch.suites]
conformance = 24
""")
    config, watch = load_watch(p)
    assert [e.name for e in config.endpoints] == ["ref", "q8"]
    assert watch.for_endpoint("ref").period_minutes == 5
    assert watch.for_endpoint("q8").period_minutes == 2
    assert watch.for_endpoint("q8").requests_per_day == 100
    assert watch.for_endpoint("q8").prompts == watch.sentinel.prompts
    assert watch.levels("ref").alarm == 30 * 288
    assert watch.levels("q8").alarm == 30 * 720
    assert watch.suites == {"conformance": 24}
    # The rest of parity reads the same file.
    assert load_config(p).candidates[0].name == "q8"


@pytest.mark.parametrize(("section", "message"), [
    ("[watch]\narl_dayz = 3\n", "watch.arl_dayz: unknown field"),
    ("[watch]\njitter = 1.5\n", "watch.jitter"),
    ("[watch]\narl_days = 1\nwarn_arl_days = 2\n", "warn_arl_days"),
    ("[watch.endpoints.nope]\nperiod_minutes = 1\n", "unknown endpoints: nope"),
    ("[watch.endpoints.q8]\nperiod_minutes = -1\n", "period_minutes"),
    ("", "no [watch] section"),
])
def test_rejects_mistakes_clearly(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_watch(_write(tmp_path, section))


def test_alert_backoff() -> None:
    from parity.watch import AlertPolicy

    p = AlertPolicy(base_delay_s=1, max_delay_s=10)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_suite_periods_as_numbers_or_tables_and_the_engine(tmp_path: Path) -> None:
    _, watch = load_watch(_write(tmp_path, """
[watch.suites]
toolcall = 24
accuracy = { period_hours = 168, limit = 50 }
[watch.engine]
queue = "pw"
worker_threads = 8
"""))
    sched = watch.suite_schedules()
    assert (sched["toolcall"].period_hours, sched["toolcall"].limit) == (24, None)
    assert (sched["accuracy"].period_hours, sched["accuracy"].limit) == (168, 50)
    assert watch.engine.queue == "pw" and watch.engine.worker_threads == 8
    assert watch.engine.broker_url_env == "PARITY_WATCH_BROKER"
    for bad, message in (('[watch.engine]\nbroker_url = "redis://x"\n', "watch.engine.broker_url: unknown"),
                         ('[watch.engine]\nqueue = "a b"\n', "watch.engine.queue"),
                         ('[watch.suites]\ntoolcall = { period_hours = -1 }\n', "period_hours"),
                         ('[watch.suites]\nnosuch = 1\n', "unknown suites: nosuch")):
        with pytest.raises(ConfigError, match=message):
            load_watch(_write(tmp_path, bad))


def test_black_box_sentinel_per_endpoint(tmp_path: Path) -> None:
    p = _write(tmp_path, """
[watch.endpoints.q8]
logprobs = false
""")
    _, watch = load_watch(p)
    assert watch.for_endpoint("ref").sentinel_blackbox == "hamming"  # logprobs: sampled requests
    assert watch.for_endpoint("q8").sentinel_blackbox == "greedy"  # the default black-box mode
    p = _write(tmp_path, """
[watch.sentinel]
blackbox = "hamming"
[watch.endpoints.q8]
logprobs = false
""")
    assert load_watch(p)[1].for_endpoint("q8").sentinel_blackbox == "hamming"
    with pytest.raises(ConfigError, match="blackbox"):
        load_watch(_write(tmp_path, '[watch.sentinel]\nblackbox = "mmd"\n'))


def test_reference_controls_default_to_one_and_override_per_endpoint(tmp_path: Path) -> None:
    _, watch = load_watch(_write(tmp_path, "[watch]\n"))
    assert watch.for_endpoint("q8").controls == 1  # today's paired observation
    _, watch = load_watch(_write(tmp_path, """
[watch.sentinel]
controls = 10
[watch.endpoints.q8]
controls = 19
"""))
    assert watch.sentinel.controls == 10 and watch.for_endpoint("q8").controls == 19


@pytest.mark.parametrize("bad", ["[watch.sentinel]\ncontrols = 0\n", "[watch.sentinel]\ncontrols = 33\n",
                                 "[watch.endpoints.q8]\ncontrols = 0\n", '[watch.sentinel]\ncontrols = "many"\n'])
def test_reference_controls_out_of_range_are_config_errors(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"controls"):
        load_watch(_write(tmp_path, bad))


def test_logprobs_reprobe_ticks_default_a_day_and_override_per_endpoint(tmp_path: Path) -> None:
    _, watch = load_watch(_write(tmp_path, "[watch]\n"))
    assert watch.for_endpoint("q8").logprobs_reprobe_ticks == 288  # a day at 5-minute ticks
    _, watch = load_watch(_write(tmp_path, "[watch.sentinel]\nlogprobs_reprobe_ticks = 12\n"
                                           "[watch.endpoints.q8]\nlogprobs_reprobe_ticks = 0\n"))
    assert watch.for_endpoint("ref").logprobs_reprobe_ticks == 12
    assert watch.for_endpoint("q8").logprobs_reprobe_ticks == 0


@pytest.mark.parametrize("bad", ["[watch.sentinel]\nlogprobs_reprobe_ticks = -1\n",
                                 '[watch.endpoints.q8]\nlogprobs_reprobe_ticks = "daily"\n',
                                 "[watch.sentinel]\nlogprobs_reprobe_tick = 5\n"])
def test_logprobs_reprobe_ticks_mistakes_are_config_errors(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"logprobs_reprobe_tick"):
        load_watch(_write(tmp_path, bad))

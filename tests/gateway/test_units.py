"""Pure pieces: the binomial test, ejection states, policies, stickiness, auth, config errors."""

from __future__ import annotations

import random

import pytest

from parity.config import ConfigError
from parity.gateway import POLICIES, Candidate, EjectionSettings, binomial_tail, hash_key
from parity.gateway._auth import KeyChecker
from parity.gateway._ejection import Ejector
from parity.gateway._sticky import StickyTable, context_class, sticky_key
from parity.gateway._telemetry import EndpointStats, Window

from .conftest import make_config


def test_binomial_tail_matches_closed_forms() -> None:
    assert binomial_tail(0, 10, 0.1) == 1.0
    assert binomial_tail(11, 10, 0.1) == 0.0
    assert binomial_tail(3, 3, 0.02) == pytest.approx(0.02**3)
    assert binomial_tail(1, 5, 0.2) == pytest.approx(1 - 0.8**5)


def test_window_slides() -> None:
    w = Window(3)
    for x in (True, True, False, False):
        w.add(x)
    assert (w.k, w.n) == (1, 3)


def test_ejection_depends_on_surrounding_traffic() -> None:
    settings = EjectionSettings(baseline_error_rate=0.02, alpha=0.001, min_failures=3)
    ej = Ejector(["a"], settings, clock=lambda: 0.0)
    stats = EndpointStats(200)
    for _ in range(197):
        stats.observe("ok", 0.01, None, 0)
    for _ in range(3):  # 3 failures in 200 is within a 2% baseline
        stats.observe("http_error", None, None, None)
        assert ej.evaluate("a", stats) is None
    extra = 0
    while ej.admitted()["a"]:  # a sustained excess does eject, after a handful more
        stats.observe("http_error", None, None, None)
        ej.evaluate("a", stats)
        extra += 1
    assert 3 < extra < 20 and "binomial tail" in (ej.reason("a") or "")


def test_probation_doubles_on_relapse() -> None:
    now = [0.0]
    ej = Ejector(["a"], EjectionSettings(probation_s=10, probe_successes=1), clock=lambda: now[0])
    assert ej.eject("a", "x") == 10
    now[0] = 10
    assert ej.due_for_probe() == ["a"] and ej.due_for_probe() == []
    assert ej.probe_result("a", False) is False
    assert ej.record("a")[0] == 30  # 10 + 2 * 10
    now[0] = 30
    ej.due_for_probe()
    assert ej.probe_result("a", True) is True and ej.admitted()["a"]


def test_policies_by_name() -> None:
    rng = random.Random(1)
    pool = [Candidate("x", price=2.0, latency_s=0.5), Candidate("y", price=1.0, latency_s=None),
            Candidate("z", price=None, latency_s=0.1)]
    assert [c.name for c in POLICIES["price"].order(pool, rng)] == ["y", "x", "z"]
    assert [c.name for c in POLICIES["latency"].order(pool, rng)] == ["y", "z", "x"]
    heavy = [Candidate("x", weight=9.0), Candidate("y", weight=1.0), Candidate("off", weight=0.0)]
    firsts = [POLICIES["weighted"].order(heavy, rng)[0].name for _ in range(1000)]
    assert 850 < firsts.count("x") < 950 and "off" not in firsts


def test_sticky_keys_and_ttl() -> None:
    now = [0.0]
    t = StickyTable(10, clock=lambda: now[0])
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    k = sticky_key("m", None, msgs, 100, 2)
    assert k == sticky_key("m", None, [*msgs, {"role": "assistant", "content": "later"}], 200, 2)
    assert k != sticky_key("m", None, msgs, 200_000, 2)  # another context class
    assert context_class(10) == "s" and context_class(10**7) == "xl"
    t.bind(k, "a")
    assert t.get(k) == "a"
    now[0] = 11
    assert t.get(k) is None


def test_auth_compares_hashes() -> None:
    checker = KeyChecker([hash_key("k1")])
    assert checker.allows("Bearer k1") and not checker.allows("Bearer k2") and not checker.allows(None)
    assert KeyChecker([]).allows(None)
    assert hash_key("k1").startswith("sha256:") and len(hash_key("k1")) == 71


@pytest.mark.parametrize(("patch", "needle"), [
    ({"alias": {"policy": "nope"}}, "models[0] (alias 'm').policy: unknown policy 'nope'"),
    ({"alias": {"weights": {"ghost": 1}}}, "models[0] (alias 'm'): unknown endpoint(s) ghost"),
    ({"alias": {"sticky": "yes"}}, "models[0] (alias 'm').sticky"),
    ({"alias": {"validate_tool_calls": 1}}, "models[0] (alias 'm').validate_tool_calls"),
    ({"alias": {"reject_empty": "true"}}, "models[0] (alias 'm').reject_empty"),
    ({"endpoint": {"reference": "yes"}}, "endpoints[0] (name 'a').reference"),
    ({"server": {"open_paths": ["/v1/chat/completions"]}}, "server.open_paths"),
    ({"alias": {"max_attempts": 0}}, "models[0] (alias 'm').max_attempts"),
    ({"server": {"api_key_hashes": ["plaintext"]}}, "server.api_key_hashes"),
    ({"ejection": {"alpha": 2}}, "ejection.alpha"),
    ({"server": {"bogus": 1}}, "server.bogus: unknown field"),
])
def test_config_errors_name_the_field(patch: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        make_config(["a"], **patch)  # type: ignore[arg-type]
    assert needle in str(exc.value)


def test_parity_toml_bools_are_strict() -> None:
    from parity.config import parse_config

    raw = {"endpoints": [{"name": "r", "base_url": "http://r.test/v1", "model": "m", "reference": "yes"},
                         {"name": "c", "base_url": "http://c.test/v1", "model": "m"}]}
    with pytest.raises(ConfigError, match=r"endpoints\[0\] \(name 'r'\)\.reference"):
        parse_config(raw)
    raw["endpoints"][0]["reference"] = True
    assert parse_config(raw).reference.name == "r"

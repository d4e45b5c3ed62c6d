"""The error outcome: pure rules over exchanges (issue 17)."""

from __future__ import annotations

from parity.exchange import Exchange, ExchangeStatus
from parity.reachability import apply_reachability, reachability
from parity.verdict import Outcome, Verdict


def _x(endpoint: str, status: ExchangeStatus, http: int | None = None) -> Exchange:
    return Exchange(status=status, http_status=http, run_id="r", endpoint=endpoint, suite="s", case_id="c",
                    case_hash="h", request={})


def _v(endpoint: str, outcome: Outcome) -> Verdict:
    return Verdict(endpoint=endpoint, suite="s", verdict=outcome, test="t", alpha=0.05, requests=1, p_value=0.01,
                   reasons=["why"])


def test_what_counts_as_not_served() -> None:
    xs = [_x("a", ExchangeStatus.CONNECT_ERROR), _x("a", ExchangeStatus.TIMEOUT),
          _x("a", ExchangeStatus.HTTP_ERROR, 503), _x("a", ExchangeStatus.HTTP_ERROR, 401),
          _x("a", ExchangeStatus.HTTP_ERROR, 400), _x("a", ExchangeStatus.HTTP_ERROR, 422),
          _x("a", ExchangeStatus.INVALID_BODY), _x("a", ExchangeStatus.STREAM_ERROR), _x("a", ExchangeStatus.OK)]
    r = reachability(xs)
    assert (r.failed, r.requests) == (4, 9)  # 400/422 are answers; broken bodies are the endpoint's fault
    assert r.kinds == {"connect_error": 1, "timeout": 1, "http_503": 1, "http_401": 1}
    assert r.label == "failing" and not r.broken(0.5) and r.broken(0.4)
    assert reachability([_x("a", ExchangeStatus.CONNECT_ERROR)] * 3).label == "unreachable"
    assert not reachability([]).broken(0.0)


def test_reference_down_makes_every_candidate_an_error() -> None:
    ex = {"ref": [_x("ref", ExchangeStatus.CONNECT_ERROR)] * 4,
          "a": [_x("a", ExchangeStatus.OK)] * 4, "b": [_x("b", ExchangeStatus.OK)] * 4}
    out = apply_reachability([_v("ref", Outcome.REFERENCE), _v("a", Outcome.INCONCLUSIVE), _v("b", Outcome.FAIL)],
                             ex, reference="ref")
    assert [v.verdict for v in out] == [Outcome.REFERENCE, Outcome.ERROR, Outcome.ERROR]
    assert out[1].reasons[0].startswith("error: the reference 'ref' is unreachable -- 4/4 requests")
    assert out[1].reasons[1] == "why" and out[1].p_value is None and out[0].p_value == 0.01


def test_candidate_threshold_is_strictly_above() -> None:
    half = [_x("a", ExchangeStatus.TIMEOUT)] * 2 + [_x("a", ExchangeStatus.OK)] * 2
    ex = {"ref": [_x("ref", ExchangeStatus.OK)] * 4, "a": half}
    (kept,) = apply_reachability([_v("a", Outcome.FAIL)], ex, reference="ref", max_error_rate=0.5)
    assert kept.verdict is Outcome.FAIL
    (err,) = apply_reachability([_v("a", Outcome.PASS)], ex, reference="ref", max_error_rate=0.25)
    assert err.verdict is Outcome.ERROR and err.reasons[0].startswith("error: failing -- 2/4")

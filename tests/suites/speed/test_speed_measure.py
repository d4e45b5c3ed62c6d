"""Speed figures from exchanges, and the comparison with the reference (pure)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from helpers import make_config, transports

from parity.case import Case
from parity.config import Declared, EndpointConfig, RunSettings
from parity.exchange import Completion, Exchange, ExchangeStatus
from parity.fake import Answer, FakeEndpoint
from parity.runner import Runner
from parity.store import Store
from parity.suites import get_suite, planned_requests
from parity.suites._base import Role
from parity.suites.speed import SpeedSuite, bucket_of, compare, speed_metrics, timing, timings
from parity.verdict import Estimate, Outcome


def _ex(latency: float, ttft: float | None, prompt: int = 50, out: int = 41, streamed: bool = True,
        ok: bool = True) -> Exchange:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": out}
    return Exchange(status=ExchangeStatus.OK if ok else ExchangeStatus.TIMEOUT, run_id="r", endpoint="e",
                    suite="speed", case_id="c", case_hash="h", request={}, latency_s=latency,
                    ttft_s=ttft, streamed=streamed,
                    completion=Completion(content="x", usage=usage) if ok else None)


def test_decode_rate_excludes_the_first_token() -> None:
    t = timing(_ex(latency=2.5, ttft=0.5, out=41))
    assert t is not None and t.tokens_per_s == 20.0 and t.ttft_s == 0.5 and t.bucket == "≤128"


def test_unstreamed_answers_have_no_ttft_and_failures_no_timing() -> None:
    t = timing(_ex(latency=2.0, ttft=1.9, streamed=False))
    assert t is not None and t.ttft_s is None and t.tokens_per_s is None
    assert timing(_ex(1.0, 0.1, ok=False)) is None
    short = timing(_ex(1.0, 0.1, out=3))
    assert short is not None and short.tokens_per_s is None


def test_buckets_by_prompt_tokens() -> None:
    assert [bucket_of(n) for n in (1, 128, 129, 2048, 5000)] == ["≤128", "≤128", "129–512", "513–2048", ">2048"]
    assert bucket_of(None) == "unknown"


def test_metrics_per_bucket_with_intervals() -> None:
    exs = [_ex(1.0 + i / 100, 0.1 + i / 1000) for i in range(40)] + [_ex(3.0, 1.0, prompt=600)]
    m = speed_metrics(timings(exs))
    p50 = m["ttft_s.p50[≤128]"]
    assert p50.n == 40 and p50.low is not None and p50.high is not None and p50.low < p50.value < p50.high  # type: ignore[operator]
    assert m["ttft_s.p50[513–2048]"].n == 1 and m["ttft_s.p50[513–2048]"].low is None


def _est(v: float, lo: float, hi: float) -> Estimate:
    return Estimate(value=v, low=lo, high=hi, n=20)


def test_compare_fails_only_beyond_the_factor_with_separated_intervals() -> None:
    ref = {"tokens_per_s.p50[≤128]": _est(100, 90, 110), "ttft_s.p50[≤128]": _est(0.2, 0.18, 0.22)}
    similar = {"tokens_per_s.p50[≤128]": _est(95, 85, 105), "ttft_s.p50[≤128]": _est(0.21, 0.19, 0.24)}
    slow = {"tokens_per_s.p50[≤128]": _est(30, 25, 35), "ttft_s.p50[≤128]": _est(0.2, 0.18, 0.22)}
    unsure = {"tokens_per_s.p50[≤128]": _est(50, 20, 90), "ttft_s.p50[≤128]": _est(0.2, 0.18, 0.22)}
    assert compare(ref, similar, 2.0)[0] is Outcome.PASS
    assert compare(ref, slow, 2.0)[0] is Outcome.FAIL
    assert compare(ref, unsure, 2.0)[0] is Outcome.INCONCLUSIVE
    assert compare(ref, {}, 2.0)[0] is Outcome.INCONCLUSIVE


def test_cases_are_unique_streamed_and_registered() -> None:
    suite = get_suite("speed")
    assert isinstance(suite, SpeedSuite)
    cases = suite.cases("x")
    assert len({c.hash for c in cases}) == len(cases) == 90  # 30 per length: a p90 interval exists
    assert all(c.body["stream"] and c.body["stream_options"] == {"include_usage": True} for c in cases)
    assert {c.hash for c in cases}.isdisjoint({c.hash for c in suite.cases("y")})


def _endpoint(context: int | None) -> EndpointConfig:
    return EndpointConfig(name="e", base_url="http://127.0.0.1:9", model="m",
                          declared=Declared(context_length=context))


class _Sender:
    """Answers every case; refuses (HTTP 400) the lengths in ``refuse``. A unit-test fake."""

    def __init__(self, endpoint: EndpointConfig, refuse: set[str]) -> None:
        self.endpoint, self.refuse = endpoint, refuse
        self.sent: list[Exchange] = []

    async def send_all(self, items: Iterable[tuple[Case, int]]) -> list[Exchange]:
        out = []
        for case, _ in items:
            length = case.id.partition("#")[0]
            x = _ex(1.0, 0.1).model_copy(update={"case_id": case.id})
            if length in self.refuse:
                x = x.model_copy(update={"status": ExchangeStatus.HTTP_ERROR, "http_status": 400,
                                         "completion": None})
            out.append(x)
        self.sent += out
        return out


def test_lengths_that_do_not_fit_the_declared_context_are_not_sent_and_say_so() -> None:
    suite = SpeedSuite(per_length=6, max_tokens=64)
    ep = _endpoint(512)
    assert suite.fits(ep) == {"short": True, "medium": True, "long": False}
    assert all(suite.fits(_endpoint(None)).values())
    sender = _Sender(ep, refuse=set())
    asyncio.run(suite.collect(sender, Role.CANDIDATE, RunSettings()))  # type: ignore[arg-type]
    assert len(sender.sent) == 12 and not any(x.case_id.startswith("long#") for x in sender.sent)
    (note,) = suite.notes(ep, sender.sent)
    assert "'long' not sent" in note and "context_length 512" in note


def test_a_refused_length_stops_after_its_first_wave_and_is_reported() -> None:
    suite = SpeedSuite(per_length=6, concurrency=2)
    ep = _endpoint(None)
    sender = _Sender(ep, refuse={"long"})
    asyncio.run(suite.collect(sender, Role.CANDIDATE, RunSettings()))  # type: ignore[arg-type]
    assert sum(x.case_id.startswith("long#") for x in sender.sent) == 2 and len(sender.sent) == 14
    (note,) = suite.notes(ep, sender.sent)
    assert "'long'" in note and "refused" in note and "HTTP 400" in note


def test_planned_requests_count_only_the_lengths_that_fit() -> None:
    suite = SpeedSuite(per_length=6)
    assert planned_requests(suite, Role.CANDIDATE, RunSettings(), _endpoint(512)) == 12
    assert planned_requests(suite, Role.REFERENCE, RunSettings(), _endpoint(None)) == 18
    assert suite.planned(Role.CANDIDATE, RunSettings()) == 18  # endpoint unknown: every length


class _Progress:
    """Records what the runner announces and what it reports sent."""

    def __init__(self) -> None:
        self.total: dict[str, int | None] = {}
        self.sent: dict[str, int] = {}

    def planned(self, endpoint: str, suite: str, total: int | None, done: int) -> None:
        self.total[endpoint] = total

    def advance(self, endpoint: str, exchange: Exchange) -> None:
        self.sent[endpoint] = self.sent.get(endpoint, 0) + 1


async def test_progress_total_matches_what_is_sent_when_a_length_does_not_fit(store: Store) -> None:
    apps = {n: FakeEndpoint(lambda body: Answer(content="1 2 3 4 5")) for n in ("ref", "small")}
    cfg = make_config("ref", "small", max_attempts=1)
    small = cfg.endpoint("small").model_copy(update={"declared": Declared(context_length=512)})
    cfg = cfg.model_copy(update={"endpoints": [cfg.endpoint("ref"), small]})
    progress = _Progress()
    runner = Runner(cfg, [SpeedSuite(per_length=3)], store, transport=transports(apps), new_run=True,
                    progress=progress)
    await runner.run()
    assert progress.total == {"ref": 9, "small": 6}
    assert progress.sent == {"ref": 9, "small": 6}
    assert len(apps["small"].requests) == 6

"""What each page shows, built from the queries (sync: called in a worker thread).

Views hold plain values; templates escape them. Nothing here renders HTML
except sparkline SVGs made of numbers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from markupsafe import Markup

from parity.checks import SchemaCache, check_finish_reason, check_markup, check_tool_calls
from parity.checks._finding import Finding
from parity.checks.text import check_special_tokens
from parity.exchange import Exchange
from parity.report import evidence_text
from parity.verdict import Verdict
from parity.watch import Transition

from ._filters import Filters
from ._live import public_url
from ._queries import SENTINEL_STREAMS, LatestVerdict, Queries, StateCell, VerdictPoint
from ._series import KEY_METRICS, Chart, latency_line, sparkline_svg, statistic_line, verdict_lines

__all__ = ["AliasRow", "Cell", "ExchangeView", "OverviewRow", "age", "alias_rows", "exchange_view", "overview_rows"]

STATES = ("healthy", "suspect", "changed", "recovering")
NEVER = "never verified"
SENTINEL_COLUMN = "sentinel"
MAX_TEXT = 20_000
SPARK_DAYS, SPARK_BUCKETS = 14, 28
CHART_BUCKETS = 120
_SCHEMAS = SchemaCache()


def age(at: datetime, now: datetime) -> str:
    s = max(0, int((now - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s // size} {unit} ago"
    return f"{s} s ago"


def state_class(state: str) -> str:
    return state if state in STATES else "none"


@dataclass
class Cell:
    suite: str
    state: str  # a watch state, "not watched", or NEVER
    statistic: float | None = None
    verdict: LatestVerdict | None = None

    @property
    def css(self) -> str:
        return state_class(self.state) if self.state in STATES else ("never" if self.state == NEVER else "none")


@dataclass
class OverviewRow:
    endpoint: str
    model: str
    cells: list[Cell]
    last: tuple[str, LatestVerdict] | None
    spark: Markup
    worst: str


def _cell(suite: str, endpoint: str, st: dict[tuple[str, str], StateCell],
          lv: dict[tuple[str, str], LatestVerdict]) -> Cell:
    streams = SENTINEL_STREAMS if suite == SENTINEL_COLUMN else (suite,)
    state = next((st[(endpoint, s)] for s in streams if (endpoint, s) in st), None)
    verdict = lv.get((endpoint, suite))
    if state is not None:
        return Cell(suite, state.state, state.statistic, verdict)
    return Cell(suite, "not watched" if verdict is not None else NEVER, None, verdict)


def overview_rows(q: Queries, f: Filters, now: datetime, models: dict[str, str], configured: Sequence[str]
                  ) -> tuple[list[str], list[tuple[str, list[OverviewRow]]]]:
    """Suite columns, and rows grouped by model (``models``: endpoint -> model id)."""
    st, lv = q.states(), q.latest_verdicts()
    names = sorted(set(q.endpoint_names()) | set(configured))
    if f.endpoints:
        names = [n for n in names if n in f.endpoints]
    if f.model:
        names = [n for n in names if models.get(n) == f.model]
    suites = [SENTINEL_COLUMN, *sorted({s for _, s in lv} | {s for _, s in st if s not in SENTINEL_STREAMS})]
    sparks = spark_cache(q, names, now)
    groups: dict[str, list[OverviewRow]] = {}
    rank = {s: i for i, s in enumerate(("changed", "suspect", "recovering", "healthy"))}
    for name in names:
        cells = [_cell(s, name, st, lv) for s in suites]
        mine = [(s, v) for (e, s), v in lv.items() if e == name]
        last = max(mine, key=lambda sv: sv[1].at) if mine else None
        worst = min((c.state for c in cells if c.state in rank), key=rank.__getitem__, default="none")
        values = [sparks.get(name, {}).get(i) for i in range(SPARK_BUCKETS)]
        spark = Markup(sparkline_svg(values, state_class(worst)))  # numbers only: safe to mark
        groups.setdefault(models.get(name) or "model not recorded", []).append(
            OverviewRow(name, models.get(name, ""), cells, last, spark, worst))
    return suites, sorted(groups.items())


@dataclass
class AliasRow:
    """A gateway model alias and its pool: each endpoint with its overview row (None: not shown)."""

    alias: str
    endpoints: list[tuple[str, OverviewRow | None]]


def alias_rows(aliases: Mapping[str, Sequence[str]], groups: Sequence[tuple[str, list[OverviewRow]]]
               ) -> list[AliasRow]:
    """The aliases with at least one endpoint on the page (filters apply), in name order."""
    shown = {r.endpoint: r for _, rows in groups for r in rows}
    return [AliasRow(alias, [(e, shown.get(e)) for e in eps]) for alias, eps in sorted(aliases.items())
            if any(e in shown for e in eps)]


_SPARKS: dict[tuple[str, ...], tuple[float, datetime, dict[str, dict[int, float]]]] = {}
SPARK_TTL_S = 30.0


def spark_cache(q: Queries, names: Sequence[str], now: datetime) -> dict[str, dict[int, float]]:
    """Sparkline buckets, kept 30 s: they are 12 hours wide, and the query is the overview's
    dearest (it reads every tick of 14 days). Buckets are aligned so cached ones stay valid."""
    width = SPARK_DAYS * 86400 // SPARK_BUCKETS
    end = datetime.fromtimestamp((int(now.timestamp()) // width + 1) * width, tz=now.tzinfo)
    start = end - timedelta(seconds=width * SPARK_BUCKETS)
    key = (str(id(q)), *names)
    hit = _SPARKS.get(key)
    if hit is not None and hit[1] == start and time.monotonic() - hit[0] < SPARK_TTL_S:
        return hit[2]
    data = q.sparks(names, start, end, width)
    if len(_SPARKS) > 64:
        _SPARKS.clear()
    _SPARKS[key] = (time.monotonic(), start, data)
    return data


# endpoint and compare -------------------------------------------------------
def _width(f: Filters) -> int:
    return max(60, int(f.span.total_seconds()) // CHART_BUCKETS)


VerdictRows = list[VerdictPoint]


def charts(q: Queries, endpoints: Sequence[str], f: Filters, verdicts: dict[str, VerdictRows],
           transitions: Sequence[Transition]) -> list[Chart]:
    """The key metrics over the range, one line per endpoint, each with its 95% band."""
    width, t0 = _width(f), f.start.timestamp()
    rows = {e: [(p.at, p.metrics) for p in verdicts[e]] for e in endpoints}
    series = {e: q.tick_series(e, f.start, f.end, width) for e in endpoints}
    out = [Chart("statistic", "Sentinel: e-CUSUM statistic (largest per bucket, log scale)", "",
                 [statistic_line(e, t0, width, [(s.bucket, s.done, s.top, s.skipped) for s in series[e]])
                  for e in endpoints],
                 log=True, note="Anytime-valid: the dashed lines are the warn and alarm levels."),
           Chart("latency", "Latency of sentinel answers (mean per bucket, 95% interval)", "s",
                 [latency_line(e, t0, width, [(s.bucket, s.latency_n, s.latency_mean, s.latency_mean_sq)
                                              for s in series[e] if s.latency_n]) for e in endpoints],
                 note="Each tick counts once, with the mean latency of its answers: n is ticks.")]
    for metric, title, unit in KEY_METRICS:
        out.append(Chart(metric, title + " (per verdict, 95% interval)", unit,
                         [verdict_lines(metric, e, rows[e]) for e in endpoints]))
    if transitions:
        out[0].thresholds = [("warn", transitions[-1].warn), ("alarm", transitions[-1].alarm)]
    return out


@dataclass
class TimelineItem:
    at: datetime
    suite: str
    outcome: str
    run_id: str
    endpoint: str


def timeline(endpoint: str, rows: VerdictRows) -> list[TimelineItem]:
    return [TimelineItem(p.at, p.suite, p.outcome, p.run_id, endpoint) for p in reversed(rows)]


def declared_vs_observed(q: Queries, endpoint: str, declared: dict[str, Any] | None
                         ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    d = declared if declared is not None else q.declared(endpoint)
    dec: list[tuple[str, str]] = []
    if d:
        dec.append(("model", str(d.get("model", "—"))))
        if isinstance(d.get("base_url"), str):
            dec.append(("base URL", public_url(d["base_url"])))
        for k, v in sorted((d.get("declared") or {}).items()):
            dec.append((str(k), "—" if v is None else str(v)))
        if d.get("extra_body"):
            dec.append(("fixed parameters", orjson.dumps(d["extra_body"]).decode()[:500]))
    exs = q.observed(endpoint)
    ok = [x for x in exs if x.response is not None]
    obs: list[tuple[str, str]] = []
    if exs:
        def common(key: str) -> str:
            c = Counter(str(x.response.get(key)) for x in ok if x.response and x.response.get(key) is not None)
            return ", ".join(f"{k} ({n}×)" for k, n in c.most_common(3)) or "not reported"
        obs += [("served model id", common("model")), ("system_fingerprint", common("system_fingerprint")),
                ("answers in the newest tick", f"{len(ok)} of {len(exs)} ok"),
                ("finish reasons", ", ".join(f"{k} ({n}×)" for k, n in Counter(
                    str(x.completion.finish_reason) for x in exs if x.completion).most_common(3)) or "—")]
        lat = [x.latency_s for x in exs if x.latency_s]
        if lat:
            obs.append(("latency, newest tick", f"{sum(lat) / len(lat):.3f} s mean (n={len(lat)})"))
    return dec, obs


# evidence -------------------------------------------------------------------
@dataclass
class ExchangeView:
    key: str
    status: str
    request: str
    response: str
    error: str
    findings: list[Finding] = field(default_factory=list)
    latency: str = ""
    answer: str = ""  # the answer's text as the model wrote it


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters)"


def findings(x: Exchange) -> list[Finding]:
    """The request-independent checks, re-run on the stored answer (pure, cheap)."""
    c = x.completion
    if c is None:
        return []
    tools = x.request.get("tools")
    try:
        out = (check_tool_calls(tools, c, _SCHEMAS) if isinstance(tools, list)
               else check_finish_reason(c) + check_markup(c))
    except Exception as exc:  # a hostile tool schema must not take the page down
        out = [Finding(check="dashboard.check_failed", message=f"checks could not run: {type(exc).__name__}")]
    return out + check_special_tokens(c.content or "")


def exchange_view(x: Exchange) -> ExchangeView:
    body = x.response if x.response is not None else (x.raw_excerpt or "")
    return ExchangeView(key=f"{x.run_id}/{x.endpoint}/{x.suite}/{x.case_hash}/{x.repeat}",
                        status=x.status.value + (f" (HTTP {x.http_status})" if x.http_status else ""),
                        request=_text(x.request), response=_text(body), error=x.error or "",
                        findings=findings(x), latency=f"{x.latency_s:.3f} s",
                        answer=_text(x.completion.content) if x.completion and x.completion.content else "")


def verdict_excerpts(v: Verdict) -> list[str]:
    """The verdict's own excerpts, as the report shows them (a title, then 'field: value' lines)."""
    return [_text(evidence_text(e)) for e in v.evidence[:50]]

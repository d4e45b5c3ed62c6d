"""The dashboard app over a seeded store, through Starlette's test client (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from parity.dashboard import CSP, DashboardError, LiveSource, create_dashboard
from parity.gateway import hash_key
from parity.store import Store

from .history import HOSTILE, NOW


def client(store: Store, **kw: object) -> TestClient:
    return TestClient(create_dashboard(store, clock=lambda: NOW, **kw))  # type: ignore[arg-type]


PAGES = ["/?range=30d", "/endpoints/m0-p1?range=30d", "/compare?model=org/model-0", "/runs?range=30d",
         "/evidence?transition=m0-p1/sentinel/2"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_served_with_csp_and_no_secret(store: Store, path: str) -> None:
    r = client(store).get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "s3cret-pw" not in r.text  # the base URL's password, stored in the run config
    assert "<script>" not in r.text.replace('<script type="application/json"', "").replace("<script src=", "")


def test_no_inline_script_or_style_attribute(store: Store) -> None:
    html = client(store).get("/endpoints/m0-p1?range=30d").text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'type="application/json"' in tag or " src=" in tag, tag
    assert " style=" not in html and "onerror" not in html.lower().replace("onerror=\\", "")


def test_hostile_text_is_escaped(store: Store) -> None:
    c = client(store)
    runs = c.get("/runs?range=30d").text
    run_id = re.findall(r'href="/runs/(run-[^"]+)"', runs)[0]
    html = c.get(f"/evidence?run={run_id}&endpoint=m0-p2&suite=toolcall").text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert HOSTILE not in html and "<img" not in html
    assert "tool_call.invalid_json · case case-1 · repeat 0" in html  # the verdict's own excerpt, typed


def test_the_run_page_is_the_report_without_scripts(store: Store) -> None:
    c = client(store)
    run_id = re.findall(r'href="/runs/(run-[^"]+)"', c.get("/runs?range=30d").text)[0]
    r = c.get(f"/runs/{run_id}")
    assert r.status_code == 200 and "parity report" in r.text
    assert "Watch history" in r.text and "<svg" in r.text  # the run's endpoints have sentinel ticks
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no script runs
    assert c.get("/runs/run-nope").status_code == 404


def test_filters_change_what_is_shown(store: Store) -> None:
    c = client(store)
    all_rows = c.get("/?range=30d").text.count('class="endpoint-link"')
    two = c.get("/?range=30d&endpoint=m0-p1&endpoint=m1-ref").text.count('class="endpoint-link"')
    assert (all_rows, two) == (6, 2)
    week = c.get("/endpoints/m0-p1?range=7d").text.count('<tr><td data-label="when">')
    month = c.get("/endpoints/m0-p1?range=30d").text.count('<tr><td data-label="when">')
    assert 0 < week < month


@pytest.mark.parametrize("query", ["range=5y", "from=yesterday", "from=2026-11-10&to=2026-11-01",
                                   "endpoint=%3Cscript%3E", "from=2020-01-01&to=2026-01-01"])
def test_bad_filters_are_a_400_page(store: Store, query: str) -> None:
    r = client(store).get(f"/?{query}")
    assert r.status_code == 400
    assert "Traceback" not in r.text and "<script>" not in r.text


def test_unknown_things_are_404(store: Store) -> None:
    c = client(store)
    assert c.get("/endpoints/nope").status_code == 404
    assert c.get("/evidence?transition=nope/sentinel/1").status_code == 404
    assert c.get("/evidence").status_code == 400
    assert c.get("/compare?endpoint=m0-p1").status_code == 400


def test_token_protects_every_page(store: Store) -> None:
    token = "dash-token-MARKER-1234"
    c = client(store, token_hashes=[hash_key(token)])
    r = c.get("/endpoints/m0-p1?range=30d", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert c.get("/static/vendor/uPlot.iife.min.js", follow_redirects=False).status_code == 303
    assert c.get("/endpoints/m0-p1", headers={"authorization": f"Bearer {token}"}).status_code == 200
    bad = c.post("/login", data={"token": "wrong", "next": "/runs"}, follow_redirects=False)
    assert bad.status_code == 401 and "wrong" not in bad.text
    ok = c.post("/login", data={"token": token, "next": "//evil.example/"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=strict" in ok.headers["set-cookie"].lower()
    page = c.get("/?range=30d")
    assert page.status_code == 200 and token not in page.text


def test_mounted_under_a_prefix_links_stay_inside(store: Store) -> None:
    outer = Starlette(routes=[Mount("/dashboard", create_dashboard(store, clock=lambda: NOW))])
    html = TestClient(outer).get("/dashboard/?range=30d").text
    assert 'href="/dashboard/endpoints/m0-p1' in html
    assert 'src="/dashboard/static/dashboard.js"' in html
    assert TestClient(outer).get("/dashboard/static/vendor/uPlot.iife.min.js").status_code == 200


def _gateway(handler: object) -> LiveSource:
    return LiveSource("http://user:gw-pass@127.0.0.1:9", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_live_admission_and_rates_from_the_gateway(store: Store) -> None:
    metrics = ('# TYPE parity_gateway_endpoint_error_rate gauge\n'
               'parity_gateway_endpoint_error_rate{endpoint="m0-p1"} 0.25\n'
               '# TYPE parity_gateway_endpoint_tool_call_error_rate gauge\n'
               'parity_gateway_endpoint_tool_call_error_rate{endpoint="m0-p1"} 0.125\n')

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok", "endpoints": {"m0-p1": "ejected", "m0-p2": "admitted"}})
        return httpx.Response(200, text=metrics)

    html = client(store, live=_gateway(handler)).get("/?range=30d").text
    assert '<span class="admission ejected">ejected</span>' in html
    assert '<span class="admission admitted">admitted</span>' in html
    assert "25.0%" in html and "12.5%" in html
    assert "gw-pass" not in html and "http://127.0.0.1:9" in html


def test_an_unreachable_gateway_is_unknown(store: Store) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused http://user:gw-pass@127.0.0.1:9")

    html = client(store, live=_gateway(handler)).get("/?range=30d").text
    assert html.count('<span class="admission unknown">unknown</span>') == 6
    assert "gw-pass" not in html and "unreachable" in html


def test_missing_chart_library_is_a_clear_startup_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match=r"make install.*uplot@1\.6\.32"):
        create_dashboard(store, vendor_dir=tmp_path)


ALIASES = {"model-zero": ["m0-ref", "m0-p1", "m0-p2"], "model-zero-new": ["m0-p1", "m9-unseen"],
           "model-one": ["m1-ref"]}


def test_gateway_aliases_with_their_endpoints_and_admission(store: Store) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok", "endpoints": {
                "m0-ref": "admitted", "m0-p1": "ejected", "m0-p2": "admitted", "m1-ref": "admitted"}})
        return httpx.Response(200, text="")

    html = client(store, live=_gateway(handler), aliases=ALIASES).get("/?range=30d").text
    table = html[html.index('<table class="aliases">'):html.index("</table>", html.index('<table class="aliases">'))]
    rows = re.findall(r'<tr class="alias">(.*?)</tr>', table, re.S)
    assert [re.search(r'alias-name">([^<]+)<', r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "model-one", "model-zero", "model-zero-new"]
    zero = rows[1]
    assert ">2 of 3<" in zero  # m0-p1 is ejected
    assert '/endpoints/m0-p1' in zero and '<span class="admission ejected">ejected</span>' in zero
    assert re.search(r'm1-ref</a>\s*<span class="state healthy">healthy</span>\s*'
                     r'<span class="admission admitted">admitted</span>', rows[0])
    # an alias's endpoint with no history at all is still an endpoint of the overview
    assert ">0 of 2<" in rows[2] and "m9-unseen" in rows[2] and "not routed" in rows[2]
    assert 'href="/endpoints/m9-unseen' in html and "never verified" in rows[2]


def test_aliases_follow_the_filters_and_say_unknown_without_a_gateway(store: Store) -> None:
    html = client(store, aliases=ALIASES).get("/?range=30d&model=org/model-1").text
    assert re.findall(r'alias-name">([^<]+)<', html) == ["model-one"]
    assert ">unknown<" in html
    assert "No gateway aliases known" not in html
    assert "No gateway aliases known" in client(store).get("/?range=30d").text


def test_evidence_says_whether_observations_are_g_or_e_values(tmp_path: Path) -> None:
    from datetime import timedelta

    from parity.watch import State, Transition
    from parity.watch._store import StateRow, TickRecord, WatchStore

    store = Store(str(tmp_path / "w.db"))
    ws, ep, t0 = WatchStore(store), "<img src=x onerror=alert(1)>", NOW - timedelta(hours=1)
    ids = [f"t{i}" for i in range(4)]
    for i, tid in enumerate(ids):  # `controls` went from 1 to 10 after two ticks
        k = 1 if i < 2 else 10
        rec = TickRecord(id=tid, endpoint=ep, stream="sentinel", index=i, scheduled_at=t0 + timedelta(minutes=5 * i),
                         status="done", statistic=2.0 ** i, state=State.HEALTHY, controls=k,
                         observations=[0.5, -0.25] if k == 1 else [11.0, 11.0, 0.0])
        tr = None
        if i == 3:
            tr = Transition(id="tr1", endpoint=ep, suite="sentinel", seq=1, from_state=State.HEALTHY,
                            to_state=State.SUSPECT, at=rec.scheduled_at, tick_id=tid, statistic=8.0, threshold=5.0,
                            alarm=100.0, warn=5.0, evidence_ticks=ids, exchange_keys=[])
        row = StateRow(endpoint=ep, stream="sentinel", state=State.HEALTHY, seq=int(tr is not None), quiet=0,
                       tick_id=tid, statistic=rec.statistic or 0.0, updated_at=rec.scheduled_at)
        assert ws.record_tick(rec, row, tr)
    html = client(store).get("/evidence?transition=tr1").text
    store.close()
    assert html.count("mean g 0.125") == 2 and html.count("mean e-value (10 controls) 7.33") == 2
    assert "about 1 when healthy" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html

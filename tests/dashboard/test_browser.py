"""The dashboard in real Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Each page loads with no console error, charts are drawn (non-blank canvases),
filters change what is shown, an event leads to its evidence, and hostile
model output is shown as text. ``PARITY_SCREENSHOTS=docs/img`` also writes
the screenshots docs/dashboard.md shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from parity.config import EndpointConfig
from parity.dashboard import create_dashboard
from parity.gateway import create_app, parse_gateway_config
from parity.store import Store

from .history import HOSTILE, NOW
from .serve import serving

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                                reason=f"needs Debian's chromium at {CHROMIUM} (make test installs it)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
SHOTS = os.environ.get("PARITY_SCREENSHOTS")
RANGE = "range=30d"


ALIASES = {"model-0": ["m0-ref", "m0-p1", "m0-p2"], "model-1": ["m1-ref", "m1-p1", "m1-p2", "m1-new"]}


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    """A real parity gateway routing the aliases (its endpoints are never called: /healthz only)."""
    cfg = parse_gateway_config({
        "endpoints": [{"name": n, "base_url": "http://127.0.0.1:9/v1", "model": f"org/model-{n[1]}"}
                      for eps in ALIASES.values() for n in eps],
        "models": [{"alias": a, "endpoints": eps} for a, eps in ALIASES.items()]})
    with serving(create_app(cfg)) as url:
        yield url


@pytest.fixture(scope="module")
def base(seeded_db: Path, gateway: str) -> Iterator[str]:
    store = Store(str(seeded_db))
    try:
        # one configured endpoint with no history at all: "never verified"
        fresh = EndpointConfig(name="m1-new", base_url="http://127.0.0.1:9/v1", model="org/model-1")
        with serving(create_dashboard(store, clock=lambda: NOW, endpoints=[fresh], gateway_url=gateway,
                                      aliases=ALIASES)) as url:
            yield url
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A tab that records console errors, page errors and failed requests."""

    def __init__(self, browser: Any, width: int = 1280, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        # A request the browser itself cancelled (ERR_ABORTED: the tab navigated on while, say, the
        # favicon was still loading; a fresh clone's run once failed on exactly that) is no fault of
        # the page; any other failure is. Answers of 4xx/5xx are logged as console errors (above).
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"failed: {request.url} ({request.failure})")

    def open(self, url: str) -> Any:
        resp = self.page.goto(url, wait_until="load")
        assert resp is not None and resp.status == 200, (url, resp and resp.status)
        return resp

    def drawn(self) -> int:
        """Charts whose canvas has at least one non-transparent pixel."""
        self.page.wait_for_selector("html[data-charts-drawn]")
        return int(self.page.evaluate("""() => [...document.querySelectorAll('.plot canvas')].filter(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
            return false; }).length"""))

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.page.close()


@pytest.fixture()
def tab(browser: Any) -> Iterator[Page]:
    p = Page(browser)
    yield p
    p.close()


def test_overview_loads_and_filters(tab: Page, base: str) -> None:
    tab.open(f"{base}/?{RANGE}")
    rows = tab.page.locator("table.overview tbody tr")
    assert rows.count() == 7
    assert tab.page.locator("svg.spark polyline").count() == 6  # the fresh one has no ticks
    assert tab.page.locator(".state.healthy").count() > 0
    assert tab.page.locator("tr.row-changed a.endpoint-link").all_inner_texts() == ["m1-p1"]
    assert tab.page.locator("tr", has_text="m1-new").locator(".state.never").count() >= 1
    tab.shot("overview-desktop")
    # filters in the URL: only the endpoints asked for
    tab.open(f"{base}/?{RANGE}&endpoint=m0-p1,m1-ref")
    assert tab.page.locator("table.overview tbody tr").count() == 2
    tab.open(f"{base}/?{RANGE}&model=org/model-1")
    names = tab.page.locator("a.endpoint-link").all_inner_texts()
    assert names and all(n.startswith("m1-") for n in names)
    assert tab.errors == []


def test_gateway_aliases_on_the_overview(tab: Page, base: str) -> None:
    tab.open(f"{base}/?{RANGE}")
    aliases = tab.page.locator("table.aliases tr.alias")
    assert aliases.locator(".alias-name").all_inner_texts() == ["model-0", "model-1"]
    one = aliases.nth(1)
    assert one.locator("a.pool-endpoint").all_inner_texts() == ["m1-ref", "m1-p1", "m1-p2", "m1-new"]
    # the live gateway admits every endpoint it routes (none has failed a request)
    assert one.locator(".admission.admitted").count() == 4
    assert one.locator("td[data-label='admitted now']").inner_text() == "4 of 4"
    assert one.locator("li", has_text="m1-p1").locator(".state.changed").count() == 1  # its drift is open
    assert tab.page.locator("header .gw.up").count() == 1
    # an alias's endpoint leads to its page
    aliases.nth(0).locator("a.pool-endpoint", has_text="m0-p1").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator("h1 .name").inner_text() == "m0-p1"
    # the model filter keeps the aliases that route to the endpoints shown
    tab.open(f"{base}/?{RANGE}&model=org/model-0")
    assert tab.page.locator("table.aliases .alias-name").all_inner_texts() == ["model-0"]
    assert tab.errors == []


PHONE_PAGES = [f"/endpoints/m0-p1?{RANGE}", f"/compare?{RANGE}&model=org/model-0",
               "/evidence?transition=m0-p1/sentinel/2", f"/runs?{RANGE}"]


def test_pages_fit_a_phone(browser: Any, base: str) -> None:
    p = Page(browser, width=390, height=844)
    try:
        for path in [f"/?{RANGE}", *PHONE_PAGES]:
            p.open(base + path)
            if "/endpoints/" in path or "/compare" in path:
                assert p.drawn() >= 6, path
            overflow = p.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
            if path.startswith("/?"):
                assert p.page.locator("table.aliases tr.alias").count() == 2
                p.shot("overview-phone")
        assert p.errors == []
    finally:
        p.close()


def test_endpoint_charts_are_drawn_and_range_changes_them(tab: Page, base: str) -> None:
    tab.open(f"{base}/endpoints/m0-p1?{RANGE}")
    assert tab.drawn() >= 6  # statistic, latency, and the verdict metrics
    n30 = tab.page.evaluate(
        "() => JSON.parse(document.getElementById('chart-toolcall_error_rate-0').textContent).x.length")
    assert tab.page.locator("table.events tbody tr").count() >= 3  # suspect, changed, recovering, healthy
    tab.shot("endpoint")
    tab.open(f"{base}/endpoints/m0-p1?range=1d")
    n1 = tab.page.evaluate(
        "() => JSON.parse(document.getElementById('chart-toolcall_error_rate-0').textContent).x.length")
    assert 0 < n1 < n30
    assert tab.errors == []


def test_compare_draws_every_endpoint(tab: Page, base: str) -> None:
    tab.open(f"{base}/compare?{RANGE}&model=org/model-0")
    assert tab.drawn() >= 6
    labels = tab.page.evaluate(
        "() => JSON.parse(document.getElementById('chart-statistic-0').textContent).series.map(s => s.label)")
    assert sorted(labels) == ["m0-p1", "m0-p2", "m0-ref"]
    tab.shot("compare")
    assert tab.errors == []


def test_event_leads_to_its_evidence(tab: Page, base: str) -> None:
    tab.open(f"{base}/endpoints/m0-p1?{RANGE}")
    tab.page.locator("tr.to-changed a.evidence-link").first.click()
    tab.page.wait_for_load_state("load")
    assert "/evidence" in tab.page.url
    assert tab.page.locator("h1").inner_text().endswith("changed")
    assert tab.page.locator("details.exchange").count() >= 1
    assert "m0-p1" in tab.page.locator("details.exchange summary").first.inner_text()
    tab.shot("evidence-transition")
    assert tab.errors == []


def test_hostile_output_renders_as_text(tab: Page, base: str) -> None:
    # m0-p2 answers with a <script> and an onerror= attribute: both must be text on the page
    tab.open(f"{base}/endpoints/m0-p2?{RANGE}")
    tab.page.locator("table.timeline tr", has_text="toolcall").locator("a.evidence-link").first.click()
    tab.page.wait_for_load_state("load")
    text = tab.page.locator("main").inner_text()
    assert "<script>window.__pwned=1</script>" in text
    assert tab.page.locator("pre.answer").first.inner_text() == HOSTILE
    assert tab.page.evaluate("() => window.__pwned") is None
    assert tab.page.locator("main img").count() == 0
    tab.shot("evidence-verdict")
    assert tab.errors == []


def test_run_page_is_the_stored_report(tab: Page, base: str) -> None:
    tab.open(f"{base}/runs?{RANGE}")
    tab.shot("runs")
    tab.page.locator("a.run-link").first.click()
    tab.page.wait_for_load_state("load")
    assert "parity report" in tab.page.locator("h1").first.inner_text()
    assert tab.page.evaluate("() => window.__pwned") is None
    tab.shot("run")
    assert tab.errors == []

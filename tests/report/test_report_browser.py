"""The report in real Chromium: styled, never wider than a 420 px phone, roomy at 1400 px.

Screenshots are taken at both widths; with PARITY_SCREENSHOTS=DIR they are kept
there (docs/images holds the ones docs/reports.md shows)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from parity.report import write_report
from parity.store import RunRecord
from parity.verdict import Verdict

from .test_report_layout import conformance_fail, unreachable

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                                                         "`make test` installs it)")


def test_report_in_chromium_at_phone_and_monitor_widths(
    run: RunRecord, verdicts: list[Verdict], tmp_path: Path
) -> None:
    paths = write_report(run, [*verdicts, conformance_fail(), unreachable()], tmp_path / "report")
    keep = Path(os.environ["PARITY_SCREENSHOTS"]) if os.environ.get("PARITY_SCREENSHOTS") else tmp_path
    keep.mkdir(parents=True, exist_ok=True)
    assert CHROMIUM is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (420, 1400):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(paths.html.resolve().as_uri())
                font = page.evaluate("getComputedStyle(document.body).fontFamily")
                assert "Segoe UI" in font  # the stylesheet applied, not the browser's serif default
                overflow = page.evaluate("document.documentElement.scrollWidth")
                assert overflow <= width, f"the page scrolls sideways at {width}px: {overflow}px wide"
                body = page.evaluate("document.body.getBoundingClientRect().width")
                if width == 1400:
                    assert body > 1200  # a large monitor is used, not a narrow column in the middle
                badge = page.evaluate("getComputedStyle(document.querySelector('.badge.fail')).color")
                assert badge == "rgb(207, 34, 46)"
                page.screenshot(path=str(keep / f"report-{width}.png"))
                if width == 420:  # the verdict table: wide, so it scrolls inside its own box
                    page.locator("#verdicts").screenshot(path=str(keep / "report-420-verdicts.png"))
                page.close()
        finally:
            browser.close()
    assert (keep / "report-420.png").stat().st_size > 10_000

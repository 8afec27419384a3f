"""The HTML study report in Debian's chromium with networking off: no console error, nothing
requested off the file, every section there, every image loaded, the charts drawn; at 1000 and
1400 px the models' names read whole and no table cell breaks a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineup.cli.main import main
from lineup.store.database import Store
from testbed.browser import CHROMIUM, CHROMIUM_ARGS, broken_words
from tests.builders import SHORT, build_long_specs, build_report_study

pytestmark = pytest.mark.browser

SECTIONS = ["setup", "relevance", "scores", "ranking", "agreement", "tables", "items", "methods"]


def test_the_report_opens_offline_whole(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    study_id = build_report_study(store)
    assert main(["study", "report", str(study_id), "--format", "html", "--out", str(path)]) == 0
    capsys.readouterr()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
            page = context.new_page()
            errors: list[str] = []
            fetched: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    fetched.append(r.url) if not r.url.startswith(("data:", "file:")) else None
                ),
            )
            page.goto(path.as_uri())
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)
            assert errors == [] and fetched == []
            for section in SECTIONS:
                assert page.locator(f"#{section}").count() == 1, section
            images = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
            )
            assert images == [True]
            # % relevant only: two items are below MIN_ITEMS (5), so no rating to chart (the
            # ratings' chart was the second before issue 17).
            assert page.locator(".plotly-graph-div").count() == 1
            # Nothing wider than the window.
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1000, 1400])
def test_report_names_read_whole_and_no_table_cell_breaks_a_word(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    """Long specs (the same model on two hosts, a hub id behind a URL, OCR): the charts name
    each model by its whole short name, and no table cell breaks a word across lines."""
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    study_id = build_long_specs(store)
    assert main(["study", "report", str(study_id), "--format", "html", "--out", str(path)]) == 0
    capsys.readouterr()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(path.as_uri())
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)
            page.wait_for_timeout(500)
            page.screenshot(path=f"/tmp/study-report-{width}.png", full_page=True)
            # Each chart's names are the short names, whole and inside the chart.
            for chart in range(page.locator(".plotly-graph-div").count()):
                ticks = (
                    page.locator(".plotly-graph-div")
                    .nth(chart)
                    .evaluate(
                        """div => {
                      const left = div.getBoundingClientRect().left;
                      return Array.from(div.querySelectorAll('.ytick text')).map(t => [
                        t.textContent, t.getBoundingClientRect().left - left]);
                    }"""
                    )
                )
                assert sorted(text for text, _ in ticks) == sorted(SHORT)
                assert all(offset >= 0 for _, offset in ticks), ticks
            assert broken_words(page, "td, th") == []
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            browser.close()

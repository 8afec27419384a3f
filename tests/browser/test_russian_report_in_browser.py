"""The HTML study report written in Russian (`study report --lang ru`) in Debian's chromium with
networking off: nothing requested off the file, no console error, every section there, its
headings in Russian, nothing wider than the window at 1000 and 1400 px; saved as screenshots in
docs/screenshots/ru/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineup.cli.main import main
from lineup.core import set_language
from lineup.store.database import Store
from testbed.browser import CHROMIUM, CHROMIUM_ARGS
from tests.builders import build_report_study

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ru"
# build_report_study's own text, never translated.
OWN_TEXT = ("What does it say?", "Which button?", "Payment declined.", "Retry.", "Cancel.")
# Words English prose cannot do without: none may be left in the Russian report's text.
ENGLISH_WORDS = re.compile(
    r"\b(the|of|and|with|from|is|are|no|not|to|by|per|than|shown|better|rank|items?)\b", re.I
)
SECTIONS = {
    "setup": "Модели и параметры",
    "relevance": "Релевантность",
    "scores": "Автоматические оценки",
    "ranking": "Рейтинг",
    "agreement": "Согласие",
    "items": "Элементы",
    "methods": "Методы",
}


def test_the_russian_report_opens_offline_whole(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    study_id = build_report_study(store)
    args = ["study", "report", str(study_id), "--format", "html", "--lang", "ru"]
    try:
        assert main([*args, "--out", str(path)]) == 0
    finally:
        set_language("en")
    capsys.readouterr()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        errors: list[str] = []  # over both widths
        fetched: list[str] = []
        try:
            for width in (1400, 1000):
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, offline=True
                )
                page = context.new_page()
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
                assert page.evaluate("document.documentElement.lang") == "ru"
                for section, heading in SECTIONS.items():
                    assert page.locator(f"#{section}").inner_text() == heading
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                # The methods, the charts and the study's tables are Russian too; what is
                # English is the study's own text (models, items, answers) and figures' names.
                assert page.locator("#methods ~ h3").first.inner_text() == "Таблицы"
                assert (
                    page.locator("pre.methods")
                    .first.inner_text()
                    .startswith("В показатели входят только завершённые")
                )
                assert (page.locator(".gtitle").first.text_content() or "").startswith(
                    "% релевантных"
                )
                shown = page.evaluate("document.body.innerText")
                for own in OWN_TEXT:
                    shown = shown.replace(own, " ")
                assert ENGLISH_WORDS.findall(shown) == []
                page.screenshot(path=str(SHOTS / f"report-{width}.png"))
                context.close()
        finally:
            browser.close()

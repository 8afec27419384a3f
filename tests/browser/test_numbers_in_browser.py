"""A study's tables in Russian in Debian's chromium. The grid draws its cells on a canvas: the
Styler's text ("70 %", "0,80") is seen on the screenshot (saved to the test's directory, or
to $LINEUP_SHOTS), while the grid's accessible table under the canvas gives each number
column's number ("70", "0.8": the column is still numbers, sorted as numbers) and the text
columns' text, which the page writes in the language ("50–90 %", "0,65–0,95")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from testbed.ollama_server import OllamaFixture
from tests.pages.test_interface_language import _labeled_study

pytestmark = pytest.mark.browser
NBSP = "\u00a0"

# The grid draws on a canvas and keeps the visible cells in an accessible table under it.
CELLS = """
() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(
  (table) => [...table.querySelectorAll('td')].map((cell) => cell.innerText))
"""


def cells(page: Any) -> list[list[str]]:
    return page.evaluate(CELLS)


def open_study(page: Any, url: str, study_id: int, language: str) -> None:
    page.goto(f"{url}/studies?study={study_id}&lang={language}")
    page.get_by_text("Relevance" if language == "en" else "Релевантность").first.wait_for(
        timeout=60_000
    )
    # The first tables draw their cells (the ones in closed expanders and tabs do not).
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stDataFrame\"] td').length > 10",
        timeout=30_000,
    )
    page.wait_for_timeout(1500)


def test_a_russian_study_shows_decimal_commas_in_its_tables(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, home, _ = served_app
    monkeypatch.setenv("LINEUP_HOME", str(home))  # the server's store, from this process too
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    study_id, _data = _labeled_study(Lineup.open())
    page = chromium.new_page(viewport={"width": 1400, "height": 2400})
    open_study(page, url, study_id, "ru")
    shot = Path(os.environ.get("LINEUP_SHOTS", tmp_path)) / "study-numbers-ru.png"
    page.screenshot(path=str(shot), full_page=True)
    shown = [cell for table in cells(page) for cell in table]
    assert {"70", "0.8", f"50–90{NBSP}%", "0,65–0,95"} <= set(shown)
    assert not {"50–90%", "0.65–0.95"} & set(shown)
    open_study(page, url, study_id, "en")
    shown = [cell for table in cells(page) for cell in table]
    assert {"70", "0.8", "50–90%", "0.65–0.95"} <= set(shown)
    page.close()

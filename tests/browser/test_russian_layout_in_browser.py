"""The translated pages in Russian (and English) at 1400 and 1000 px in Debian's chromium: no
button, pill, tab, header or navigation link is cut off (its text wider than its box where the
box hides the rest, or past the window's edge) and no button's label wraps; each Russian page
is saved to docs/screenshots/ru/ to be looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from lineup.store.database import Store
from lineup.store.media import MediaStore
from testbed.ollama_server import OllamaFixture
from tests.builders import MODELS, make_study

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ru"
WIDTHS = (1400, 1000)

# Every element a person reads as one piece: its text must be whole and on one line where it
# is a button, pill or tab.
CUT_OFF = """
() => {
  const cut = [];
  const one_line = 'button, [data-baseweb="tab"], [data-testid="stSidebarNavLink"]';
  const pieces = one_line + ', h1, h2, h3, h4, label, [data-testid="stExpander"] summary';
  for (const element of document.querySelectorAll(pieces)) {
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || !element.innerText.trim()) continue;  // hidden
    if (element.closest('[data-testid="stDataFrame"]')) continue;  // the grid scrolls
    const label = element.innerText.trim().slice(0, 60);
    if (box.right > window.innerWidth + 1) cut.push('past the edge: ' + label);
    for (const node of [element, ...element.querySelectorAll('*')]) {
      const style = getComputedStyle(node);
      const hides = style.overflowX !== 'visible' || style.textOverflow === 'ellipsis';
      if (hides && node.scrollWidth > node.clientWidth + 1 && node.innerText.trim()) {
        cut.push('cut: ' + label);
        break;
      }
    }
    if (element.matches(one_line)) {
      const text = [...element.querySelectorAll('p, span, div')].find(
        (node) => node.children.length === 0 && node.innerText.trim());
      if (text) {
        const height = parseFloat(getComputedStyle(text).lineHeight) || 20;
        if (text.getBoundingClientRect().height > 1.6 * height) cut.push('wraps: ' + label);
      }
    }
  }
  return cut;
}
"""


def look(page: Any, address: str, ready: str) -> None:
    page.goto(address)
    page.get_by_text(ready, exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the last reruns and fonts
    # Tables draw on a canvas once their data is in: wait for every one (their headers are
    # looked at on the screenshots; a canvas has no DOM to measure).
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
        ".every((table) => table.querySelector('canvas'))",
        timeout=30_000,
    )
    page.wait_for_timeout(500)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_translated_pages_fit_at_1400_and_1000_px(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, home, _ = served_app
    monkeypatch.setenv("LINEUP_HOME", str(home))  # the server's store, from this process too
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    study_id, _ids = make_study(store, MediaStore(home / "media"), models=MODELS, items=3)
    app = Lineup.open()
    for shipped in app.sets.shipped():
        app.sets.import_shipped(shipped.name)
    russian = language == "ru"
    pages = [
        ("sets", "sets", "Наборы" if russian else "Sets"),
        ("backends", "endpoints", "Бэкенды" if russian else "Backends"),
        (
            "label-queue",
            f"label_queue?study={study_id}&annotator=ana",
            "Разметка" if russian else "Label queue",
        ),
        (
            "arena",
            f"label_queue?study={study_id}&annotator=ana&mode=arena",
            "Арена" if russian else "Arena",
        ),
    ]
    problems = {}
    for width in WIDTHS:
        # Tall: Streamlit scrolls inside the page, so a screenshot shows one window's height.
        page = chromium.new_page(viewport={"width": width, "height": 2400})
        for name, path, ready in pages:
            joiner = "&" if "?" in path else "?"
            look(page, f"{url}/{path}{joiner}lang={language}", ready)
            found = page.evaluate(CUT_OFF)
            if found:
                problems[f"{name} at {width} px"] = found
            if russian:
                page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        page.close()
    assert problems == {}

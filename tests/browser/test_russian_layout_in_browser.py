"""Every page in Russian (and English) at 1400 and 1000 px in Debian's chromium: no button,
pill, tab, header or navigation link is cut off (its text wider than its box where the box
hides the rest, or past the window's edge) and no button's label wraps; each Russian page is
saved to docs/screenshots/ru/ to be looked at.

The Compare pages show runs stored by the CLI itself (`vlm` against the Ollama protocol
fixture and the OCR baseline, `tts` with espeak-ng's Russian voices heard by Whisper base), the
Studies page and the leaderboard a study labeled by two people."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from lineup.store.database import Store
from lineup.store.media import MediaStore
from testbed.ollama_server import OllamaFixture
from tests.builders import MODELS, make_study

pytestmark = [pytest.mark.browser, pytest.mark.timeout(480)]  # sixteen pages, two CLI runs
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots" / "ru"
SCREENSHOT = ROOT / "sample_media/sets/support-screenshots/screenshots/server_error_ru.png"
WIDTHS = (1400, 1000)
RELEVANCE = ("relevant", "partial", "irrelevant")

# Every element a person reads as one piece: its text must be whole and on one line where it
# is a button, pill or tab.
CUT_OFF = """
() => {
  const cut = [];
  const one_line = 'button, [data-baseweb="tab"], [data-testid="stSidebarNavLink"]';
  // A multiselect's chips (the models and voices picked) too.
  const pieces = one_line + ', h1, h2, h3, h4, label, [data-testid="stExpander"] summary, '
    + '[data-testid="stMultiSelectTagsContainer"] [data-tag]';
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
    // The sample questions' pills wrap their labels on purpose (components.layout).
    if (element.matches(one_line) && !element.closest('.st-key-sample_question')) {
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
    """Open `address` and wait for `ready` (a text, or a CSS selector after "css=") and then
    for the page to settle."""
    page.goto(address)
    if ready.startswith("css="):
        page.locator(ready).first.wait_for(timeout=60_000)
    else:
        page.get_by_text(ready, exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the last reruns and fonts
    # The ready text can come before the rest of the page: wait until no element is still a
    # skeleton (drawn before its data) and the script is not running.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')"
        " && !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=60_000,
    )
    # Tables draw on a canvas once their data is in: wait for every one shown (their headers
    # are looked at on the screenshots; a canvas has no DOM to measure). A table in a folded
    # expander is not drawn.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
        ".every((table) => !table.checkVisibility() || table.querySelector('canvas'))",
        timeout=30_000,
    )
    page.wait_for_timeout(500)


def stored_by_the_cli(home: Path, ollama: OllamaFixture, language: str) -> tuple[int, int]:
    """A comparison of two models (the fixture's llava and the OCR baseline) on a Russian
    screenshot and two Russian voices speaking one sentence, stored by the CLI as a person
    would run them; their run ids."""
    env = dict(
        os.environ,
        LINEUP_HOME=str(home),
        OLLAMA_HOST=ollama.base_url,
        LINEUP_BACKENDS_FILE=str(home / "backends.toml"),
        LINEUP_LANG=language,
    )
    env.pop("LINEUP_DATABASE_URL", None)

    def cli(*args: str) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "lineup", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        return int(json.loads(done.stdout)["run_id"])

    models = ["--model", "ollama:llava:7b", "--model", "ocr:eng+rus"]
    vlm = cli("vlm", "--image", str(SCREENSHOT), "--question", "Что случилось у клиента?", *models)
    sentence = "Привет! Сегодня десять градусов тепла."
    tts = cli("tts", "--text", sentence, "--voice", "espeak:ru", "--voice", "espeak:ru+f3")
    return vlm, tts


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_translated_pages_fit_at_1400_and_1000_px(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, home, ollama = served_app
    monkeypatch.setenv("LINEUP_HOME", str(home))  # the server's store, from this process too
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    media = MediaStore(home / "media")
    study_id, _ids = make_study(store, media, models=MODELS, items=3)
    labeled, answers = make_study(store, media, models=MODELS, items=4, name="labeled set")
    app = Lineup.open()
    for (item, _model, _repeat), generation_id in sorted(answers.items()):
        app.labels.add(generation_id, RELEVANCE[item % 3], annotator="bo")
        app.labels.add(generation_id, RELEVANCE[(item + 1) % 3], annotator="cy")
    for shipped in app.sets.shipped():
        app.sets.import_shipped(shipped.name)
    vlm_run, tts_run = stored_by_the_cli(home, ollama, language)
    russian = language == "ru"
    pages = [
        ("compare-vlms", f"?run={vlm_run}", "SRV-5003", 2400),
        ("compare-voices", f"compare_voices?runs={tts_run}", "css=audio", 2400),
        ("sets", "sets", "Наборы" if russian else "Sets", 2400),
        (
            "studies",
            f"studies?study={labeled}",
            "Рейтинг и согласие" if russian else "Ranking and agreement",
            9000,
        ),
        ("leaderboard", "leaderboard", "Голоса" if russian else "Voices", 4000),
        (
            "label-queue",
            f"label_queue?study={study_id}&annotator=ana",
            "Разметка" if russian else "Label queue",
            2400,
        ),
        (
            "arena",
            f"label_queue?study={study_id}&annotator=ana&mode=arena",
            "Арена" if russian else "Arena",
            2400,
        ),
        ("backends", "endpoints", "Бэкенды" if russian else "Backends", 2400),
    ]
    problems = {}
    for width in WIDTHS:
        for name, path, ready, height in pages:
            # Tall: Streamlit scrolls inside the page, so a screenshot shows one window's height.
            page = chromium.new_page(viewport={"width": width, "height": height})
            joiner = "&" if "?" in path else "?"
            print(f"{name} at {width} px")  # which page, should it fail to settle
            look(page, f"{url}/{path}{joiner}lang={language}", ready)
            found = page.evaluate(CUT_OFF)
            if found:
                problems[f"{name} at {width} px"] = found
            if russian:
                page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            page.close()
    assert problems == {}

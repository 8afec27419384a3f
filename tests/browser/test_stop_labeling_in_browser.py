"""Can I stop labeling? in chromium at 1400 and 1000 px: on the Studies page beside the relevance
table and in the label queue, the block is drawn whole inside the window, its words unbroken.
Screenshots go to /tmp/stop-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from testbed.browser import broken_words, settled
from testbed.ollama_server import OllamaFixture
from tests.builders import make_study

pytestmark = pytest.mark.browser
MODELS = ["ollama:qwen2.5vl:7b", "ollama:llava:13b", "ollama:minicpm-v:8b"]
LABELS = {
    MODELS[0]: ["relevant"] * 8 + ["partial", "irrelevant"],
    MODELS[1]: ["relevant"] * 6 + ["irrelevant", "partial", "relevant", "irrelevant"],
    MODELS[2]: ["irrelevant"] * 9 + ["partial"],
}
BLOCK = '[data-testid="stAlertContainer"]:has-text("Can I stop labeling")'


def labeled_study(home: Path, monkeypatch: pytest.MonkeyPatch, items: int) -> int:
    """Three models over `items` items, the first `items` - 2 labeled by ana (LABELS)."""
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    app = Lineup.open()
    study_id, ids = make_study(app.store, app.media, models=MODELS, items=items, name="screens")
    for (number, model, _), gid in ids.items():
        if number <= len(LABELS[model]) and number <= items - 2:
            app.labels.add(gid, LABELS[model][number - 1], annotator="ana")
    return study_id


def drawn_whole(page: Any, width: int) -> dict[str, float]:
    block = page.locator(BLOCK).first
    block.scroll_into_view_if_needed()
    box = block.bounding_box()
    assert box is not None and box["width"] > 300, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"cut off: {box}"
    # Every alert on the page: CSS (which broken_words takes) cannot pick one by its text.
    assert broken_words(page, '[data-testid="stAlertContainer"]') == []
    return box


@pytest.mark.parametrize("width", [1400, 1000])
def test_the_block_is_drawn_whole_on_the_studies_page_and_in_the_queue(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    monkeypatch: pytest.MonkeyPatch,
    width: int,
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    study_id = labeled_study(home, monkeypatch, items=12)
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/studies?study={study_id}&annotator=ana")
    expect(page.get_by_text("Can I stop labeling? Not yet.")).to_be_visible(timeout=60_000)
    settled(page)
    drawn_whole(page, width)
    page.screenshot(path=f"/tmp/stop-studies-{width}.png")
    caption = page.get_by_text("4 times in 5")
    expect(caption).to_be_visible()

    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana")
    expect(page.get_by_text("Can I stop labeling? Not yet:")).to_be_visible(timeout=60_000)
    settled(page)
    drawn_whole(page, width)
    page.screenshot(path=f"/tmp/stop-queue-{width}.png")

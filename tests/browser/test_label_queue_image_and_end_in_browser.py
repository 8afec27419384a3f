"""The Label queue's image and its end, as a person meets them in Debian's chromium
(`streamlit run` and Playwright; fixtures in tests/browser/conftest.py): the thumbnail opens
at its natural size with one click, so a screenshot's small print can be read; the last label
says the study is fully labeled and links to its results."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from lineup.store.database import Store
from lineup.store.media import MediaStore
from testbed.browser import settled
from testbed.ollama_server import OllamaFixture
from tests.builders import MODELS, make_study

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")
THUMBNAIL = ".st-key-queue-thumbnail img"
# A phone screenshot (tall) and a desktop one (wider than the dialog), as the shipped ones.
SIZES = {"phone": (780, 1688), "desktop": (1280, 800)}


def screenshot_png(width_px: int, height_px: int) -> bytes:
    image = Image.new("RGB", (width_px, height_px), "#F2F3F5")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 200, width_px - 40, 320), fill="#D93025")
    draw.text((60, height_px - 100), "Error code PAY-4021", fill="#5F6368")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(page: Any, selector: str) -> dict[str, float]:
    return dict(
        page.locator(selector).first.evaluate(
            "img => ({natural: img.naturalWidth, shown: img.getBoundingClientRect().width})"
        )
    )


@pytest.mark.parametrize("width", [1400, 1000])
@pytest.mark.parametrize("screen", list(SIZES))
def test_the_image_opens_full_size_with_one_click(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, width: int, screen: str
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    width_px, height_px = SIZES[screen]
    image = screenshot_png(width_px, height_px)
    study_id, _ = make_study(store, MediaStore(home / "media"), models=MODELS, items=1, image=image)
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana")
    expect(page.get_by_text("Question 1?", exact=True)).to_be_visible(timeout=60_000)
    settled(page)
    # Too small to read (Streamlit even sends it scaled down to the width shown).
    thumbnail = image_size(page, THUMBNAIL)
    assert thumbnail["shown"] <= 420 and thumbnail["shown"] < width_px / 2

    # No fullscreen of Streamlit's own (it would show the thumbnail's few pixels): a click on
    # the image itself opens it.
    page.locator(THUMBNAIL).hover()
    expect(page.get_by_role("button", name="Fullscreen")).to_have_count(0)
    page.locator(THUMBNAIL).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog.locator("img")).to_be_visible(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[role=dialog] img')].some(i => i.complete)"
    )
    page.screenshot(path=str(SCREENSHOTS / f"queue-full-size-{screen}-{width}.png"))
    full = image_size(page, "[role=dialog] img")
    assert full == {"natural": width_px, "shown": width_px}  # its own pixels, one for one
    # Wider than the dialog, it scrolls sideways: its right edge can be brought into view.
    right_edge_reached = page.locator(".st-key-queue-full-image").evaluate(
        """box => {
          box.scrollLeft = box.scrollWidth;
          const image = box.querySelector("img").getBoundingClientRect();
          return image.right <= box.getBoundingClientRect().right + 1;
        }"""
    )
    assert right_edge_reached

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden(timeout=30_000)
    settled(page)
    page.keyboard.press("f")  # the key does what the click does
    expect(page.get_by_role("dialog").locator("img")).to_be_visible(timeout=30_000)
    settled(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden(timeout=30_000)
    settled(page)
    page.get_by_role("button", name="Full size").click()  # and so does the button
    expect(page.get_by_role("dialog").locator("img")).to_be_visible(timeout=30_000)


def test_the_last_label_says_the_study_is_fully_labeled_and_links_to_its_results(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    study_id, ids = make_study(store, MediaStore(home / "media"), models=MODELS, items=2)
    first = list(ids.values())
    for gid in first[:3]:  # all but the last answer of item 2
        store.add_label(gid, "relevant", annotator="ana")

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana")
    expect(page.get_by_text("Labeled 3 of 4 answers")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Question 2?", exact=True)).to_be_visible(timeout=30_000)
    settled(page)
    assert page.get_by_text("fully labeled").count() == 0

    page.keyboard.press("2")  # the focused answer: the last one without a label
    expect(page.get_by_text("Labeled 4 of 4 answers")).to_be_visible(timeout=30_000)
    done = page.get_by_text(f"Study {study_id} is fully labeled")
    expect(done).to_be_visible(timeout=30_000)
    settled(page)
    page.screenshot(path=str(SCREENSHOTS / "queue-fully-labeled.png"))
    assert store.current_labels([first[3]], "ana")[first[3]].relevance == "partial"

    link = page.get_by_role("link", name="See the results")
    expect(link).to_be_visible()
    link.click()
    # The Studies page of the study; the page may add the annotator to the address after it.
    page.wait_for_url(re.compile(rf"/studies\?(.*&)?study={study_id}(&|$)"), timeout=30_000)
    expect(page.get_by_role("heading", name="Studies")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("queue set").first).to_be_visible(timeout=30_000)

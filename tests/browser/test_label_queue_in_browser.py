"""The Label queue as a person uses it from the keyboard alone: `streamlit run` and Playwright in
Debian's chromium (fixtures in tests/browser/conftest.py), over a study built
straight in the store (2 models × 3 items with images)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.study.queue import QueueItem, queue_item
from testbed.browser import settled
from testbed.ollama_server import OllamaFixture
from tests.builders import MODELS, make_study

pytestmark = pytest.mark.browser
LLAVA, MOONDREAM = MODELS
KEY_OF = {"relevant": "1", "partial": "2", "irrelevant": "3"}
# What the annotator means each answer to get, by item number and model.
INTENDED = {
    (1, LLAVA): "relevant",
    (1, MOONDREAM): "irrelevant",
    (2, LLAVA): "partial",
    (2, MOONDREAM): "relevant",
    (3, LLAVA): "irrelevant",
    (3, MOONDREAM): "partial",
}
SCREENSHOT = Path("/tmp/queue.png")


def expect_focus(page: Any, generation_id: int) -> None:
    from playwright.sync_api import expect

    card = page.locator(f".st-key-queue-answer-{generation_id}")
    expect(card).to_contain_text("focused", timeout=30_000)
    expect(page.locator(f".st-key-queue-label-{generation_id}-relevant button")).to_contain_text(
        "1"
    )
    settled(page)


def expect_item(page: Any, number: int) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(f"Question {number}?", exact=True)).to_be_visible(timeout=30_000)
    settled(page)


def expect_progress(page: Any, labeled: int) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(f"Labeled {labeled} of 6 answers")).to_be_visible(timeout=30_000)
    settled(page)


def press(page: Any, key: str) -> None:
    page.keyboard.press(key)


def test_a_study_labeled_with_the_keyboard_alone(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
) -> None:
    url, home, _ = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    study_id, ids = make_study(store, MediaStore(home / "media"), models=MODELS, items=3)
    model_of = {gid: model for (_, model, _), gid in ids.items()}

    def answers(number: int) -> QueueItem:
        item = queue_item(store, study_id, number, "ana")
        assert item is not None
        return item

    def key_for(number: int, letter: str) -> str:
        """The key that gives the answer under `letter` of item `number` its intended label."""
        return KEY_OF[INTENDED[(number, model_of[gid_of(number, letter)])]]

    def gid_of(number: int, letter: str) -> int:
        return next(a.generation_id for a in answers(number).answers if a.letter == letter)

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana")
    expect_item(page, 1)
    expect_progress(page, 0)
    expect_focus(page, gid_of(1, "A"))
    page.screenshot(path=str(SCREENSHOT))

    # Item 1: → and ← move the focus; 1/2/3 label the focused answer and move on to the next.
    press(page, "ArrowRight")
    expect_focus(page, gid_of(1, "B"))
    press(page, "ArrowLeft")
    expect_focus(page, gid_of(1, "A"))
    press(page, key_for(1, "A"))
    expect_progress(page, 1)
    expect_focus(page, gid_of(1, "B"))
    press(page, key_for(1, "B"))
    expect_progress(page, 2)

    # J: item 2. Tab moves the focus; a label goes round to the answer still unlabeled.
    press(page, "j")
    expect_item(page, 2)
    expect_focus(page, gid_of(2, "A"))
    press(page, "Tab")
    expect_focus(page, gid_of(2, "B"))
    press(page, key_for(2, "B"))
    expect_progress(page, 3)
    expect_focus(page, gid_of(2, "A"))
    press(page, key_for(2, "A"))
    expect_progress(page, 4)

    # K back to item 1 (done), then U: the next item with answers to label is item 3.
    press(page, "k")
    expect_item(page, 1)
    press(page, "u")
    expect_item(page, 3)
    expect_focus(page, gid_of(3, "A"))
    # Typed in a burst, faster than the page redraws: the keys are taken in order, none lost.
    for key in ["ArrowDown", "ArrowUp", "ArrowRight", key_for(3, "B"), key_for(3, "A"), "p"]:
        press(page, key)
    expect_item(page, 2)  # the last key of the burst
    expect_progress(page, 6)
    press(page, "n")
    expect_item(page, 3)

    # Keys typed in a comment are text: no label, no move.
    comment = page.locator(f".st-key-queue-comment-ana-{gid_of(3, 'A')} input")
    comment.click()
    comment.type("j1 ok")
    comment.press("Enter")
    settled(page)
    page.screenshot(path=str(SCREENSHOT.with_name("queue-done.png")))
    expect_item(page, 3)

    stored = store.current_labels(ids.values(), "ana")
    assert {
        (number, model): stored[gid].relevance for (number, model, _), gid in ids.items()
    } == INTENDED
    assert stored[gid_of(3, "A")].comment == "j1 ok"
    # Every item's names are shown now that all its answers are labeled.
    assert not any(answers(number).names_hidden for number in (1, 2, 3))

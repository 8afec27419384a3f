"""The Label queue's Arena mode as a person uses it from the keyboard alone: `streamlit run` and
Playwright in Debian's chromium (fixtures in tests/browser/conftest.py), over a study
built straight in the store (3 models × 2 items with images: 6 pairs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.store.tables import PairwiseVote
from lineup.study.arena import ArenaPair, arena_queue
from testbed.browser import settled
from testbed.ollama_server import OllamaFixture
from tests.builders import make_study

pytestmark = pytest.mark.browser
MODELS = ["ollama:llava:7b", "ollama:moondream:latest", "ollama:qwen2.5vl:3b"]
VERDICT_OF = {"a": "a", "b": "b", "t": "tie", "x": "both_bad"}
# The key pressed on each pair, in the order shown: every verdict, twice for some.
KEYS = ["b", "a", "x", "t", "a", "b"]


def expect_progress(page: Any, voted: int) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(f"Voted on {voted} of 6 pairs")).to_be_visible(timeout=30_000)
    settled(page)


def expect_pair(page: Any, position: int) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(f"Pair {position} of 6", exact=False)).to_be_visible(timeout=30_000)
    settled(page)


def stored_votes(store: Store) -> list[tuple[str, int, int, str]]:
    with store.session() as session:
        rows = session.execute(
            select(
                PairwiseVote.annotator,
                PairwiseVote.generation_a,
                PairwiseVote.generation_b,
                PairwiseVote.verdict,
            ).order_by(PairwiseVote.id)
        ).all()
    return [(who, a, b, verdict) for who, a, b, verdict in rows]


def count_votes(store: Store) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count(PairwiseVote.id))).scalar_one())


def test_every_pair_voted_with_the_keyboard_alone(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    tmp_path: Path,
) -> None:
    url, home, _ = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    study_id, _ = make_study(store, MediaStore(home / "media"), models=MODELS, items=2)
    pairs: list[ArenaPair] = list(arena_queue(store, study_id, "ana").pairs)
    assert len(pairs) == 6

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana&mode=arena")
    expect_pair(page, 1)
    expect_progress(page, 0)
    page.screenshot(path=str(tmp_path / "arena.png"), full_page=True)

    # J / K move between the pairs without voting.
    page.keyboard.press("j")
    expect_pair(page, 2)
    page.keyboard.press("k")
    expect_pair(page, 1)
    # One key at a time: each vote moves on to the next pair without one.
    for position, key in enumerate(KEYS[:3], start=1):
        page.keyboard.press(key)
        expect_progress(page, position)
        expect_pair(page, position + 1)
    # The rest in a burst, faster than the page redraws: taken in order, none lost.
    for key in KEYS[3:]:
        page.keyboard.press(key)
    expect_progress(page, 6)
    page.screenshot(path=str(tmp_path / "arena-done.png"), full_page=True)

    expected = [
        ("ana", pair.generation_a, pair.generation_b, VERDICT_OF[key])
        for pair, key in zip(pairs, KEYS, strict=True)
    ]
    assert stored_votes(store) == expected
    assert [pair.vote for pair in arena_queue(store, study_id, "ana").pairs] == [
        VERDICT_OF[key] for key in KEYS
    ]

    # The vote keys typed in a text box (the name) are text: no vote, no move.
    shown = page.url
    name = page.get_by_role("textbox", name="Your name (for labels)")
    name.click()
    name.press("End")
    name.type("abtxjk")
    page.wait_for_timeout(2_500)  # time enough for a vote the script would have pressed
    settled(page)
    assert name.input_value() == "anaabtxjk"
    assert page.url == shown
    assert count_votes(store) == 6

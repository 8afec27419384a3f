"""What the Compare pages write, as a person clicks: a label only when a person labels (never
because the page redrew), one run per click of a start button (however fast the clicks), and
a start button that stays under the pointer.

The app is `streamlit run` on a loopback port, driven by Playwright in Debian's chromium; its
Ollama models are the loopback protocol fixture (tests/fixtures/ollama_server.py: no Ollama
server can be installed here), beside the real Tesseract OCR baseline and espeak-ng voices."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lineup.models import Label, Study
from lineup.service import Lineup
from lineup.store import Store
from tests.browser.helpers import open_page, pick_models, settled
from tests.conftest import png_bytes
from tests.fixtures.ollama_server import OllamaFixture

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1400, 1000
MODELS = ["ocr:eng+rus", "ollama:llava:7b"]


def store_of(home: Path) -> Store:
    return Store(f"sqlite:///{home / 'lineup.db'}")


def labeled_run(store: Store, annotator: str) -> tuple[int, list[int]]:
    """A finished run of three answers, each labeled by `annotator` (two with a comment)."""
    run_id = store.create_run("vlm", "Which error code?", params={"timeout_s": 60.0}, seed=0)
    generation_ids = []
    for position, (model, text) in enumerate(
        [("ocr:eng+rus", "PAY-4021"), ("ollama:llava:7b", "A payment error."), (MODELS[1], "?")]
    ):
        generation_id = store.add_generation(run_id, model, position=position)
        store.finish_generation(generation_id, "ok", output_text=text, ttft_s=0.1, total_s=0.2)
        generation_ids.append(generation_id)
    for generation_id, relevance, comment in zip(
        generation_ids,
        ["relevant", "partial", "irrelevant"],
        ["reads the code", None, "a question mark"],
        strict=True,
    ):
        store.add_label(generation_id, relevance, annotator=annotator, comment=comment)
    return run_id, generation_ids


def label_rows(store: Store, generation_ids: list[int]) -> list[tuple[int, str, str | None]]:
    with store.session() as session:
        rows = (
            session.query(Label)
            .filter(Label.generation_id.in_(generation_ids))
            .order_by(Label.id)
            .all()
        )
        return [(row.generation_id, row.relevance, row.comment) for row in rows]


def run_ids(store: Store, kind: str = "vlm") -> list[int]:
    return sorted(run.id for run in store.latest_runs(kind, limit=500))


def wait_until_idle(page: Any, button: Any, store: Store, kind: str, before: int) -> list[int]:
    """Wait for the page's start button to be enabled again, then for the count of runs to
    hold still for two seconds (a second run would start within that); the runs made."""
    from playwright.sync_api import expect

    deadline = time.monotonic() + 60
    while len(run_ids(store, kind)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    expect(button).to_be_enabled(timeout=60_000)
    settled(page)
    made = run_ids(store, kind)[before:]
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < 2.0:
        time.sleep(0.2)
        now = run_ids(store, kind)[before:]
        if now != made:
            made, stable_since = now, time.monotonic()
    expect(button).to_be_enabled(timeout=60_000)
    return made


def compare_button(page: Any) -> Any:
    return page.get_by_role("button", name="Compare", exact=True)


def fill_compare_form(page: Any, question: str) -> None:
    page.get_by_role("textbox", name="Question", exact=True).fill(question)
    chips = page.locator('[data-testid="stMultiSelect"]').get_by_text(MODELS[1], exact=True)
    if chips.count() == 0:
        pick_models(page, [MODELS[1]])


def open_recent_run(page: Any, run_id: int) -> None:
    """Reopen a run with the sidebar's picker, in the same session (as a person does)."""
    from playwright.sync_api import expect

    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=re.compile(rf"^#{run_id} ·")).click()
    expect(page).to_have_url(re.compile(rf"[?&]run={run_id}(&|$)"), timeout=30_000)
    settled(page)


# 1. Compare never re-saves the shown run's labels ------------------------------------------


def test_compare_over_a_labeled_run_never_rewrites_its_labels(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    old_run, old_ids = labeled_run(store, "ana")
    before = label_rows(store, old_ids)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    open_page(page, f"{url}/?annotator=ana&run={old_run}")
    expect(page.get_by_text("A payment error.")).to_be_visible(timeout=30_000)

    rounds = 8
    for round_index in range(rounds):
        if round_index:
            open_recent_run(page, old_run)
        expect(page.get_by_text("A payment error.")).to_be_visible(timeout=30_000)
        # Another tab relabels one answer just before this tab's Compare: it must stay so.
        store.add_label(
            old_ids[round_index % 3], ["irrelevant", "relevant"][round_index % 2], annotator="ana"
        )
        fill_compare_form(page, f"What does the error say? ({round_index})")
        count = len(run_ids(store))
        page.get_by_role("button", name="Compare").click()
        wait_until_idle(page, compare_button(page), store, "vlm", count)

    after = label_rows(store, old_ids)
    # Only the other tab's writes were added: the page wrote no label of the old run.
    assert len(after) == len(before) + rounds, after[len(before) :]
    latest = store.current_labels(old_ids, "ana")
    expected = {}
    for round_index in range(rounds):
        expected[old_ids[round_index % 3]] = ["irrelevant", "relevant"][round_index % 2]
    assert {gid: label.relevance for gid, label in latest.items()} == expected


# 2. One click, one run --------------------------------------------------------------------

# How a person clicks twice or three times: a double click (its clicks a few ms apart), a
# triple click, and two clicks 120-400 ms apart, which reach the server while the first
# click's script run is under way (a run stored but not yet the page's was the bug).
CLICKS_MS = [[0], [0, 0], [0, 0, 0], [120], [250], [400], [120, 120], [200], [300]]


def click_like_a_person(page: Any, button: Any, gaps_ms: list[int]) -> None:
    """Click `button` once, then again after each gap, where it was when the first click
    came (the page must not move it in between)."""
    from playwright.sync_api import expect

    settled(page)
    button.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    expect(button).to_be_visible()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    for gap_ms in gaps_ms:
        if gap_ms:
            page.wait_for_timeout(gap_ms)
        page.mouse.click(x, y)


def test_double_and_triple_clicks_on_compare_start_one_run_each(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    url, home, _ = served_app
    store = store_of(home)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    open_page(page, f"{url}/?annotator=ana")
    fill_compare_form(page, "What does the error say?")
    made = []
    for gaps_ms in CLICKS_MS * 2:
        count = len(run_ids(store))
        click_like_a_person(page, compare_button(page), gaps_ms)
        made.append(wait_until_idle(page, compare_button(page), store, "vlm", count))
    assert [len(runs) for runs in made] == [1] * len(made), list(
        zip(CLICKS_MS * 2, made, strict=True)
    )


def test_double_and_triple_clicks_on_speak_start_one_comparison_each(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/compare_voices?annotator=ana")
    speak = page.get_by_role("button", name=re.compile(r"^Speak( anyway)?$"))
    expect(speak).to_be_visible(timeout=60_000)
    page.get_by_role("textbox", name="Sentences, one per line").fill("The card was declined.")
    # No speech-to-text: a clip is made in a moment by espeak-ng.
    page.get_by_role("textbox", name="Speech-to-text for WER").fill("")
    page.get_by_role("textbox", name="Speech-to-text for WER").press("Enter")
    settled(page)
    made = []
    for gaps_ms in CLICKS_MS:
        count = len(run_ids(store, "tts"))
        click_like_a_person(page, speak, gaps_ms)
        made.append(wait_until_idle(page, speak, store, "tts", count))
    assert [len(runs) for runs in made] == [1] * len(made), list(zip(CLICKS_MS, made, strict=True))


def study_ids(store: Store) -> list[int]:
    with store.session() as session:
        return sorted(session.scalars(select(Study.id)))


def test_double_and_triple_clicks_on_start_study_start_one_study_each(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    folder = tmp_path / "screens"
    folder.mkdir()
    (folder / "shot.png").write_bytes(png_bytes(size=(160, 100)))
    (folder / "questions.csv").write_text("image,question\nshot.png,What is shown?\n")
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    Lineup.open().import_set(folder, name="screens")

    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/studies?annotator=ana")
    start = page.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_visible(timeout=60_000)
    pick_models(page, [MODELS[1]])
    made = []
    for gaps_ms in CLICKS_MS:
        settled(page)
        if not start.is_visible():  # the form folds away once there is a study
            page.get_by_text("New study").click()
            expect(start).to_be_visible()
        count = len(study_ids(store))
        click_like_a_person(page, start, gaps_ms)
        deadline = time.monotonic() + 60
        while len(study_ids(store)) == count and time.monotonic() < deadline:
            time.sleep(0.1)
        settled(page)
        time.sleep(2.0)  # a second study would be stored within that
        settled(page)
        made.append(study_ids(store)[count:])
    assert [len(studies) for studies in made] == [1] * len(made), list(
        zip(CLICKS_MS, made, strict=True)
    )

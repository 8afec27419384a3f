"""What the Compare pages write, as a person clicks: a label only when a person labels (never
because the page redrew), one run per click of a start button (however fast the clicks), and
a start button that stays under the pointer.

The app is `streamlit run` on a loopback port, driven by Playwright in Debian's chromium; its
Ollama models are the loopback protocol fixture (testbed/ollama_server.py: no Ollama
server can be installed here), beside the real Tesseract OCR baseline and espeak-ng voices."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lineup.app.facade import Lineup
from lineup.sets.samples import Sample, list_samples
from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.store.tables import STUDY_RUNNING, Label, Study
from testbed.browser import open_page, pick_models, settled
from testbed.ollama_server import OllamaFixture
from tests.builders import png_bytes

# Nine rounds of double and triple clicks, each waited out: 87 s for Compare under a load of 3.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
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
    # By its test id: while the models box's list is open, the rest of the page is hidden
    # from the accessibility tree that get_by_role reads. (While a run goes on, Streamlit
    # keeps a hidden copy of the button.)
    return page.get_by_test_id("stBaseButton-primary").filter(
        has_text=re.compile(r"Compare$"), visible=True
    )


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
    expect(button).to_be_visible()
    # Where a person would aim: the button's place once the page has stopped drawing the last
    # run (on a loaded machine its last reruns can come after `settled`), and the button is
    # what the pointer is over.
    box, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        settled(page)
        again = button.bounding_box()
        if again == box and under_the_pointer(button, again):
            break
        box = again
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    for gap_ms in gaps_ms:
        if gap_ms:
            page.wait_for_timeout(gap_ms)
        page.mouse.click(x, y)


def under_the_pointer(button: Any, box: dict[str, float]) -> bool:
    """Whether the middle of `box` is over `button` (nothing drawn over it)."""
    return bool(
        button.evaluate(
            "(el, [x, y]) => el.contains(document.elementFromPoint(x, y))",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
    )


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
    Lineup.open().sets.import_path(folder, name="screens")

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
        # Start is disabled while a study of the same inputs runs (it says which): the next
        # case clicks once this one's study is over, however loaded the machine.
        deadline = time.monotonic() + 60
        while studies_running(store) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert [len(studies) for studies in made] == [1] * len(made), list(
        zip(CLICKS_MS, made, strict=True)
    )


def studies_running(store: Store) -> list[int]:
    with store.session() as session:
        return list(session.scalars(select(Study.id).where(Study.status == STUDY_RUNNING)))


# 22. The start button stays under the pointer; the form shows the run shown --------------


def add_to_picker(page: Any, spec: str) -> None:
    """Type a spec into the models/voices box and press Enter, as a person adds one: the box
    keeps the focus (and its list stays open)."""
    box = page.locator('[data-testid="stMultiSelect"] input')
    box.click()
    box.fill(spec)
    box.press("Enter")
    settled(page)


@pytest.mark.parametrize("width", [1400, 1000])
def test_a_voice_added_then_speak_clicked_once_starts_the_clips(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, width: int
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    page = chromium.new_page(viewport={"width": width, "height": HEIGHT})
    page.goto(f"{url}/compare_voices?annotator=ana")
    speak = page.get_by_test_id("stBaseButton-primary").filter(has_text="Speak", visible=True)
    expect(speak).to_be_visible(timeout=60_000)
    page.get_by_role("textbox", name="Sentences, one per line").fill("The card was declined.")
    page.get_by_role("textbox", name="Speech-to-text for WER").fill("")
    page.get_by_role("textbox", name="Speech-to-text for WER").press("Enter")
    settled(page)
    add_to_picker(page, "espeak:en-us+f3")
    focused = page_y(speak)
    page.screenshot(path=f"/tmp/integrity-voice-added-{width}.png")

    speak.click()  # once: the box loses the focus as the button is pressed

    deadline = time.monotonic() + 30
    while not run_ids(store, "tts") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run_ids(store, "tts"), "the click on Speak was lost"
    [run] = store.latest_runs("tts")
    assert run.params["voices"][-1] == "espeak:en-us+f3"
    page.locator("h1").first.click()
    settled(page)
    # The run's own reruns (the clips, then the address) may still be drawing on a loaded
    # machine: the button must come back to where it was once the page is still.
    assert comes_to_rest_at(page, speak, focused) == focused


def test_compare_stays_where_it_is_as_the_models_box_loses_the_focus(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    url, home, _ = served_app
    store = store_of(home)
    page = chromium.new_page(viewport={"width": 1000, "height": HEIGHT})
    open_page(page, f"{url}/?annotator=ana")
    page.get_by_role("textbox", name="Question", exact=True).fill("What does the error say?")
    # Four chips fill the narrow column's rows: the box's text field would need a row of its
    # own only while it has the focus.
    for spec in [MODELS[1], "ollama:slow:latest", "ollama:moondream:latest"]:
        add_to_picker(page, spec)
    compare = compare_button(page)
    with_list = page_y(compare)
    # The box's list covers the button right under it: it is closed first.
    page.keyboard.press("Escape")
    focused = page_y(compare)
    page.locator("h1").first.click()
    blurred = page_y(compare)
    assert with_list == focused == blurred

    compare.click()
    deadline = time.monotonic() + 30
    while not run_ids(store) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run_ids(store), "the click on Compare was lost"


def comes_to_rest_at(page: Any, locator: Any, expected: float, seconds: float = 30) -> float:
    """Where an element is once the page has stopped moving it: its position when it reaches
    `expected`, or the last one seen after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        settled(page)
        where = page_y(locator)
        if where == expected or time.monotonic() > deadline:
            return where
        time.sleep(0.5)


def page_y(locator: Any) -> float:
    """Where an element is on the page (not in the window, which scrolls)."""
    return float(
        locator.evaluate(
            "el => el.getBoundingClientRect().top"
            " + document.querySelector('[data-testid=\"stMain\"]').scrollTop"
        )
    )


def stored_vlm_run(home: Path) -> tuple[int, Sample]:
    """A finished run of two models on a sample screenshot, with a system prompt and
    parameters other than the form's defaults, as another session left it."""
    sample = list_samples()[0]
    data = sample.path.read_bytes()
    image_hash = MediaStore(home / "media").put(data, sample.path.suffix)
    store = store_of(home)
    run_id, generation_ids = store.create_run_with_generations(
        "vlm",
        "Which error code is shown?",
        MODELS,
        image_hash=image_hash,
        system_prompt="Answer in one line.",
        params={"temperature": 0.3, "max_tokens": 64, "timeout_s": 45.0, "timing": "parallel"},
        seed=7,
    )
    for generation_id in generation_ids:
        store.finish_generation(generation_id, "ok", output_text="PAY-4021", total_s=0.2)
    return run_id, sample


def test_an_opened_run_fills_the_form_and_runs_again(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    old_run, sample = stored_vlm_run(home)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    open_page(page, f"{url}/?annotator=ana&run={old_run}")

    expect(page.get_by_role("textbox", name="Question", exact=True)).to_have_value(
        "Which error code is shown?"
    )
    for spec in MODELS:
        expect(
            page.locator('[data-testid="stMultiSelect"]').get_by_text(spec, exact=True)
        ).to_be_visible()
    expect(page.get_by_role("radio", name="Sample")).to_be_checked()
    expect(page.get_by_role("combobox", name="Sample")).to_have_value(
        f"{sample.title} ({sample.kind})"
    )
    page.get_by_text("System prompt and parameters").click()
    expect(page.get_by_role("textbox", name="System prompt")).to_have_value("Answer in one line.")
    expect(page.get_by_role("spinbutton", name="Temperature")).to_have_value("0.30")
    expect(page.get_by_role("spinbutton", name="Max tokens")).to_have_value("64")
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("7")
    expect(page.get_by_role("spinbutton", name="Timeout (s)")).to_have_value("45.00")
    page.screenshot(path="/tmp/integrity-filled-1400.png", full_page=True)

    page.get_by_role("button", name="Run again").click()
    deadline = time.monotonic() + 30
    while len(run_ids(store)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    [new_run] = [run for run in store.latest_runs("vlm") if run.id != old_run]
    old = store.get_run(old_run)
    assert old is not None
    assert [g.model_spec for g in new_run.generations] == MODELS
    for field in ("input_text", "image_hash", "system_prompt", "params", "seed", "blind"):
        assert getattr(new_run, field) == getattr(old, field), field
    expect(page).to_have_url(re.compile(rf"[?&]run={new_run.id}(&|$)"), timeout=30_000)
    expect(compare_button(page)).to_be_enabled(timeout=60_000)
    settled(page)
    page.set_viewport_size({"width": 1000, "height": HEIGHT})
    page.wait_for_timeout(1000)
    page.screenshot(path="/tmp/integrity-run-again-1000.png", full_page=True)


def test_opened_voice_runs_fill_the_form_and_speak_again(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = store_of(home)
    voices = ["espeak:en-us", "espeak:en-us+f3"]
    sentences = ["The card was declined.", "Call your bank."]
    params = {"voices": voices, "samples": 2, "stt": None, "timeout_s": 30.0, "batch_id": "b"}
    old_runs = []
    for index, sentence in enumerate(sentences):
        run_id = store.create_run(
            "tts", sentence, params={**params, "sentence_index": index, "sentences": 2}, seed=5
        )
        for position, voice in enumerate(voices):
            for sample in range(2):
                generation_id = store.add_generation(
                    run_id, voice, position=2 * position + sample, sample_index=sample
                )
                store.finish_generation(generation_id, "ok", gen_s=0.1, audio_s=1.0)
        old_runs.append(run_id)

    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/compare_voices?annotator=ana&runs={old_runs[0]},{old_runs[1]}")
    sentences_box = page.get_by_role("textbox", name="Sentences, one per line")
    expect(sentences_box).to_have_value("\n".join(sentences), timeout=60_000)
    for voice in voices:
        expect(
            page.locator('[data-testid="stMultiSelect"]').get_by_text(voice, exact=True)
        ).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Samples per voice")).to_have_value("2")
    expect(page.get_by_role("spinbutton", name="First seed")).to_have_value("5")
    expect(page.get_by_role("textbox", name="Speech-to-text for WER")).to_have_value("")
    page.screenshot(path="/tmp/integrity-voices-filled-1400.png", full_page=True)

    page.get_by_role("button", name="Run again").click()
    deadline = time.monotonic() + 30
    while len(run_ids(store, "tts")) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    new_runs = [run for run in store.latest_runs("tts") if run.id not in old_runs]
    assert sorted(run.input_text for run in new_runs) == sorted(sentences)
    for run in new_runs:
        assert run.seed == 5 and run.params["samples"] == 2 and run.params["stt"] is None
        assert [(g.model_spec, g.seed) for g in run.generations] == [
            (voice, 5 + sample) for voice in voices for sample in range(2)
        ]

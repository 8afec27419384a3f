"""The Leaderboard and the app's assets in Debian's chromium: nothing is fetched off the machine
(the app must work offline), and at 1000 and 1400 px every filter reads whole and every table
fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lineup.store.database import Store
from testbed.browser import CHROMIUM, broken_words, settled
from testbed.ollama_server import OllamaFixture
from tests.builders import build_long_specs, word_counts

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PAGES = ["", "compare_voices", "leaderboard", "endpoints"]


def add_voices(store: Store) -> None:
    for voice, wer in [("espeak:en-us+f3", 0.25), ("piper:en_US-joe-medium", 0.0)]:
        gid = store.add_generation(store.create_run("tts", "Hello there, dear friend."), voice)
        store.finish_generation(
            gid,
            "ok",
            transcript="hello there dear friend",
            wer=wer,
            **word_counts("Hello there, dear friend.", wer),
            cer=wer,
            rtf=0.1,
            gen_s=0.2,
            audio_s=2.0,
        )
        store.add_label(gid, "relevant", annotator="ana")


def fill(store: Store) -> None:
    """Two VLMs, one with a long spec and labels, one failing; two voices."""
    long_spec = "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1"
    for relevance in ["relevant", "irrelevant", "partial"]:
        gid = store.add_generation(store.create_run("vlm", "What does the error say?"), long_spec)
        store.finish_generation(
            gid, "ok", output_text="x", ttft_s=0.4, total_s=2.5, tokens_per_s=31.0
        )
        store.add_label(gid, relevance, annotator="ana")
    for status in ["ok", "error", "timeout"]:
        gid = store.add_generation(store.create_run("vlm", "q"), "ocr:eng+rus")
        store.finish_generation(
            gid, status, output_text="x", ttft_s=0.2 if status == "ok" else None, total_s=0.2
        )
    for voice, wer in [("espeak:en-us+f3", 0.25), ("piper:en_US-joe-medium", 0.0)]:
        gid = store.add_generation(store.create_run("tts", "Hello there, dear friend."), voice)
        store.finish_generation(
            gid,
            "ok",
            transcript="hello there dear friend",
            wer=wer,
            **word_counts("Hello there, dear friend.", wer),
            cer=wer,
            rtf=0.1,
            gen_s=0.2,
            audio_s=2.0,
        )


def test_no_page_fetches_anything_off_the_machine_and_the_leaderboard_fits(
    served_app: tuple[str, Path, OllamaFixture],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, home, _ollama = served_app
    fill(Store(f"sqlite:///{home / 'lineup.db'}"))
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda request: requested.append(request.url))
        for path in PAGES:
            page.goto(f"{url}/{path}")
            expect(page.locator('[data-testid="stSidebarNav"]')).to_be_visible(timeout=30_000)
            page.wait_for_load_state("networkidle")
            favicon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
            assert favicon.startswith("data:image/svg+xml"), favicon[:80]

        page.goto(f"{url}/leaderboard")
        grid = page.locator('[data-testid="stDataFrame"]').first
        expect(grid).to_be_visible(timeout=30_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
        browser.close()

    off_machine = [
        u
        for u in requested
        if not u.startswith("data:") and urlsplit(u).hostname not in LOCAL_HOSTS
    ]
    assert not off_machine


# What a label, a chosen value or a date box shows cut off: an element narrower than its text
# (an ellipsis, or text scrolled out of an input).
CUT_TEXT_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .flatMap((root) => [root, ...root.querySelectorAll('*')])
  .filter((e) => e.scrollWidth > e.clientWidth + 1 && (e.innerText || e.value || '').trim())
  .map((e) => (e.innerText || e.value).trim())"""


@pytest.mark.parametrize("width", [1000, 1400])
def test_the_filter_bar_and_the_table_read_whole(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, width: int
) -> None:
    from playwright.sync_api import expect

    url, home, _ollama = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    study_id = build_long_specs(store)
    add_voices(store)
    today = datetime.now(UTC).date()
    address = (
        f"{url}/leaderboard?study={study_id}&set=support-screenshots&tag=billing"
        f"&since={today - timedelta(days=6)}&until={today + timedelta(days=2)}"
        "&annotator=ana&status=ok"
    )
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(address)
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    settled(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=f"/tmp/leaderboard-filters-{width}.png")

    labels = page.locator('[data-testid="stMain"] [data-testid="stWidgetLabel"]')
    texts = [t.strip() for t in labels.all_inner_texts()]
    for label in ["Study", "Set", "Tag", "From (UTC)", "To (UTC)", "Labels by", "Status"]:
        assert label in texts, texts
    label_selector = '[data-testid="stMain"] [data-testid="stWidgetLabel"]'
    assert page.evaluate(CUT_TEXT_JS, label_selector) == []
    assert broken_words(page, label_selector) == []
    # Every chosen value reads whole: "#1 · support-screenshots (VLM)", not "#1 · sup".
    choices = '[data-testid="stMain"] [data-testid="stSelectbox"] input'
    chosen = page.eval_on_selector_all(choices, "inputs => inputs.map(i => i.value)")
    assert chosen == [
        f"#{study_id} · support-screenshots (VLM)",
        "support-screenshots (VLM)",
        "billing",
        "ana",
        "ok: complete answers",
    ]
    assert page.evaluate(CUT_TEXT_JS, choices) == []
    # The dates read as dates, whole, not "yyyy - m" or a calendar icon alone.
    fields = '[data-testid="stMain"] [data-testid="stDateInputFieldsScroller"]'
    shown = page.eval_on_selector_all(fields, "fields => fields.map(f => f.innerText)")
    assert ["".join(text.split()) for text in shown] == [
        str(today - timedelta(days=6)),
        str(today + timedelta(days=1)),
    ]
    assert page.evaluate(CUT_TEXT_JS, fields) == []

    # Every column of every table is in view: nothing scrolls sideways, nothing past the
    # window; on each tab.
    assert tables_cut(page, width) == []
    # The voices, unfiltered (no clip is in the study).
    page.goto(f"{url}/leaderboard")
    page.get_by_role("tab", name="Voices").click()
    expect(page.locator('[data-testid="stTabPanel"]:visible .js-plotly-plot')).to_be_visible(
        timeout=30_000
    )
    settled(page)
    page.screenshot(path=f"/tmp/leaderboard-voices-{width}.png")
    assert tables_cut(page, width) == []


def tables_cut(page: Any, width: int) -> list[str]:
    """Each table shown that scrolls sideways or runs past the window, with its headers."""
    frames = page.locator('[data-testid="stTabPanel"]:visible [data-testid="stDataFrame"]')
    assert frames.count() >= 2
    cut = []
    for index in range(frames.count()):
        frame = frames.nth(index)
        overflow = frame.evaluate(
            "el => { const s = el.querySelector('.dvn-scroller');"
            " return s ? s.scrollWidth - s.clientWidth : -1 }"
        )
        box = frame.bounding_box()
        assert box is not None
        if not 0 <= overflow <= 1 or box["x"] + box["width"] > width:
            cut.append(
                f"table {index}: scrolls by {overflow} px, ends at {box['x'] + box['width']}"
            )
    return cut

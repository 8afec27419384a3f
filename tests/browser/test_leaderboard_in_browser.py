"""The Leaderboard and the app's assets in Debian's chromium: nothing is fetched off the machine
(the app must work offline), and the leaderboard's figures fit a 1400 px window."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lineup.store import Store
from tests.browser.helpers import CHROMIUM
from tests.conftest import word_counts
from tests.fixtures.ollama_server import OllamaFixture
from tests.pages.test_leaderboard_and_backends_pages import TABLE_PX_AT_1400

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PAGES = ["", "compare_voices", "leaderboard", "endpoints"]


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
        # The page test sums the fixed widths of the columns up to Failed to at most this.
        table_px = grid.locator(".dvn-scroller").evaluate("e => e.clientWidth")
        browser.close()

    off_machine = [
        u
        for u in requested
        if not u.startswith("data:") and urlsplit(u).hostname not in LOCAL_HOSTS
    ]
    assert not off_machine
    assert table_px >= TABLE_PX_AT_1400

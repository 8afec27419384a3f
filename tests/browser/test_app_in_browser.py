"""The app as a person uses it: `streamlit run` on a free loopback port, driven by Playwright
in Debian's chromium. The second model is the Ollama protocol fixture (a loopback stand-in for
an Ollama server, which cannot be installed here); the first is the real OCR baseline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lineup.store.database import Store
from testbed.browser import open_page, pick_models, wait_for_labels
from testbed.ollama_server import OllamaFixture
from tests.builders import screenshot

pytestmark = pytest.mark.browser


def test_upload_compare_two_models_and_label(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, home, ollama = served_app
    image = tmp_path / "ticket.png"
    image.write_bytes(screenshot(["Payment failed", "Error code: PAY-4021"]))
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?annotator=ana")
    page.get_by_text("Upload", exact=True).click()
    page.locator("input[type=file]").set_input_files(str(image))
    expect(page.get_by_text("PNG 900×230")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Question", exact=True).fill("What does the error say?")
    box = page.locator('[data-testid="stMultiSelect"]')
    page.screenshot(path=str(tmp_path / "before-pick.png"), full_page=True)
    expect(box.get_by_text("ocr:eng+rus", exact=True)).to_be_visible(timeout=30_000)
    pick_models(page, ["ollama:llava:7b"])
    expect(box.get_by_text("ocr:eng+rus", exact=True)).to_be_visible()
    expect(box.get_by_text("ollama:llava:7b", exact=True)).to_be_visible()
    page.get_by_role("button", name="Compare").click()

    expect(page.get_by_text("A payment error.")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("PAY-4021").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(tmp_path / "compared.png"), full_page=True)
    page.get_by_role("button", name="Relevant").first.click()

    store = Store(f"sqlite:///{home / 'lineup.db'}")
    [run] = store.latest_runs("vlm")
    assert [g.model_spec for g in run.generations] == ["ocr:eng+rus", "ollama:llava:7b"]
    assert [g.status for g in run.generations] == ["ok", "ok"]
    ids = [g.id for g in run.generations]
    labels = wait_for_labels(store, ids, "ana")
    page.screenshot(path=str(tmp_path / "labeled.png"), full_page=True)

    assert labels == {ids[0]: "relevant"}
    assert ollama.chat_requests()[0]["messages"][-1]["content"] == "What does the error say?"


def test_a_new_run_after_an_old_address_is_shown_and_takes_the_label(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    store = Store(f"sqlite:///{home / 'lineup.db'}")
    old_run = store.create_run("vlm", "Which error code?")
    old_generation = store.add_generation(old_run, "ollama:llava:7b")
    store.finish_generation(
        old_generation, "ok", output_text="OLD-ANSWER-77", ttft_s=0.1, total_s=0.2
    )

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    open_page(page, f"{url}/?annotator=ana&run={old_run}")
    expect(page.get_by_text("OLD-ANSWER-77")).to_be_visible(timeout=30_000)
    page.get_by_role("textbox", name="Question", exact=True).fill("What does the error say?")
    pick_models(page, ["ollama:llava:7b"])
    page.get_by_role("button", name="Compare").click()

    expect(page.get_by_text("A payment error.")).to_be_visible(timeout=60_000)
    [new_run] = [run for run in store.latest_runs("vlm") if run.id != old_run]
    expect(page).to_have_url(re.compile(rf"[?&]run={new_run.id}(&|$)"), timeout=10_000)
    expect(page.get_by_text("OLD-ANSWER-77")).to_have_count(0)
    # The run after Compare finishes by drawing the stored run; wait for that before a click.
    expect(page.get_by_role("button", name="Compare")).to_be_enabled(timeout=30_000)
    llava = page.locator('[data-testid="stColumn"]').filter(has_text="A payment error.")
    llava.get_by_role("button", name="Relevant", exact=True).click()
    [new_generation] = [g.id for g in new_run.generations if g.model_spec == "ollama:llava:7b"]
    labels = wait_for_labels(store, [new_generation, old_generation], "ana")
    expect(page.get_by_text("A payment error.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "new_run_after_old_address.png"), full_page=True)

    assert labels == {new_generation: "relevant"}
    assert f"run={new_run.id}" in page.url


def test_stop_mid_stream_in_blind_mode(
    served_app: tuple[str, Path, OllamaFixture], chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    open_page(page, f"{url}/?annotator=ana")
    page.get_by_text("Blind mode").click()
    page.get_by_role("textbox", name="Question", exact=True).fill("Count.")
    pick_models(page, ["ollama:slow:latest", "ollama:llava:7b"])
    page.get_by_role("button", name="Compare").click()

    expect(page.get_by_text("word3")).to_be_visible(timeout=30_000)
    headers = page.locator('[data-testid="stHeading"] h3')
    expect(headers).to_have_text(["Model A", "Model B", "Model C"])  # with the OCR default
    expect(page.get_by_text("streaming…").first).to_be_visible()
    expect(page.get_by_role("button", name="Compare")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "blind_streaming.png"), full_page=True)

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped", exact=False).first).to_be_visible(timeout=5_000)
    expect(page.get_by_role("button", name="Compare")).to_be_enabled(timeout=5_000)
    page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)

    store = Store(f"sqlite:///{home / 'lineup.db'}")
    [run] = store.latest_runs("vlm", 1)
    by_model = {g.model_spec: g for g in run.generations}
    slow = by_model["ollama:slow:latest"]
    assert slow.status == "cancelled"
    assert slow.output_text.startswith("word0 word1 word2 word3")
    assert by_model["ollama:llava:7b"].status == "ok"

"""The app as a person uses it: `streamlit run` on a free loopback port, driven by Playwright
in Debian's chromium. The second model is the Ollama protocol fixture (a loopback stand-in for
an Ollama server, which cannot be installed here); the first is the real OCR baseline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lineup.store import Store
from tests.fixtures.net import free_port
from tests.fixtures.ollama_server import FakeModel, OllamaFixture
from tests.unit.test_ocr_backend import screenshot

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture()
def served_app(tmp_path: Path) -> Iterator[tuple[str, Path, OllamaFixture]]:
    home = tmp_path / "home"
    with OllamaFixture([FakeModel("llava:7b", ["A", "payment", "error."], delay_s=0.05)]) as ollama:
        port = free_port()
        env = dict(
            os.environ,
            LINEUP_HOME=str(home),
            OLLAMA_HOST=ollama.base_url,
            LINEUP_BACKENDS_FILE=str(home / "backends.toml"),
        )
        env.pop("LINEUP_DATABASE_URL", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"streamlit did not start:\n{output}")
                time.sleep(0.3)
            yield url, home, ollama
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def test_upload_compare_two_models_and_label(
    served_app: tuple[str, Path, OllamaFixture], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (packages.apt).")
    url, home, ollama = served_app
    image = tmp_path / "ticket.png"
    image.write_bytes(screenshot(["Payment failed", "Error code: PAY-4021"]))

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
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?annotator=ana")
        page.get_by_text("Upload", exact=True).click()
        page.locator("input[type=file]").set_input_files(str(image))
        expect(page.get_by_text("PNG 900×230")).to_be_visible(timeout=30_000)
        page.get_by_role("textbox", name="Question", exact=True).fill("What does the error say?")
        models = page.locator('[data-testid="stMultiSelect"] input')
        models.click()
        models.fill("ollama:llava:7b")
        models.press("Enter")
        page.keyboard.press("Escape")
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
        deadline = time.monotonic() + 15
        while not store.current_labels(ids, "ana") and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        labels = store.current_labels(ids, "ana")
        page.screenshot(path=str(tmp_path / "labeled.png"), full_page=True)
        browser.close()

    assert {gid: label.relevance for gid, label in labels.items()} == {ids[0]: "relevant"}
    assert ollama.chat_requests()[0]["messages"][-1]["content"] == "What does the error say?"

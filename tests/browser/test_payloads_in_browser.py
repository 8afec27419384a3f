"""Model output and imported sets are shown as text: a model (the Ollama protocol fixture, a
loopback stand-in for an Ollama server, which cannot be installed here) answers with every
markup payload of testbed/payloads.py pointed at a loopback beacon that counts its hits,
and a set's questions and references carry more. The Compare page (while the answer streams
and once stored), the Studies page (answers, question, reference, the reference model's
answer) and the Label queue (labels and pairwise votes) are opened in chromium: the beacon is
never hit, and no anchor links to a `data:` or `javascript:` URL (issue 15, item 7)."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from testbed.browser import open_page, pick_models, settled
from testbed.net import free_port
from testbed.ollama_server import FakeModel, OllamaFixture
from testbed.payloads import markup_payloads
from tests.builders import png_bytes

pytestmark = pytest.mark.browser
END = "ANSWER-END"
SCREENSHOTS = Path("/tmp")


class Beacon:
    """A loopback server that counts every request it gets (any method, any path)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _hit(self) -> None:
                beacon.hits.append(f"{self.command} {self.path}")
                body = png_bytes((2, 2))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _hit

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def beacon() -> Iterator[Beacon]:
    server = Beacon()
    yield server
    server.close()


def payload_answer(url: str) -> str:
    return (
        "**Bold**, `code`, a list:\n\n- one\n- two\n\n"
        + "\n\n".join(markup_payloads(url))
        + f"\n\n{END}"
    )


def add_payload_models(ollama: OllamaFixture, url: str) -> None:
    """Two models that answer with every payload, a word every 10 ms (so the Compare page
    draws the answer while it streams), their reasoning too."""
    words = payload_answer(url).split(" ")
    for name in ("payload:7b", "payload2:7b"):
        ollama.models[name] = FakeModel(
            name, words, delay_s=0.01, thinking=[f"Thinking ![t]({url}/thinking)"]
        )


def payload_study(
    home: Path, ollama: OllamaFixture, url: str, tmp_path: Path, monkeypatch: Any
) -> int:
    """A study of both payload models over a set whose question and reference hold payloads
    too, with a reference model (a payload model as well), in the served app's store."""
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    folder = tmp_path / "hostile-set"
    folder.mkdir()
    (folder / "shot.png").write_bytes(png_bytes((160, 100)))
    with (folder / "questions.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "question", "reference"])
        writer.writerow(
            [
                "shot.png",
                f"What is it? ![q]({url}/question) <img src={url}/question-raw>",
                f"A reference ![r]({url}/reference) [d](data:text/html,x)",
            ]
        )
    app = Lineup.open()
    app.sets.import_path(folder, name="hostile")
    specs = [f"ollama:{name}@{ollama.base_url}" for name in ("payload:7b", "payload2:7b")]
    study = app.studies.start(set_name="hostile", models=specs, repeats=1, seed=1)
    deadline = time.monotonic() + 120
    while app.studies.progress(study.study_id).status != "done":
        assert time.monotonic() < deadline, "the study did not finish"
        time.sleep(0.1)
    assert app.scores.start_reference(study.study_id, specs[0]).wait().status == "done"
    return study.study_id


def links_to_scripts_or_data(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "a[href]",
        "els => els.map(e => e.getAttribute('href').trim().toLowerCase())"
        ".filter(h => h.startsWith('data:') || h.startsWith('javascript:'))",
    )


# The attributes that make a browser fetch or follow a URL.
FETCHING = ["src", "srcset", "href", "xlink:href", "poster", "data", "action", "formaction",
            "background", "style"]  # fmt: skip


def fetching_elements(page: Any, url: str) -> list[str]:
    """Elements of the page with an attribute that would fetch or link to the beacon (text
    fields showing it as text are fine)."""
    return page.evaluate(
        """([url, names]) => [...document.querySelectorAll('*')].flatMap(el =>
            [...el.attributes].filter(a => names.includes(a.name) && a.value.includes(url))
                .map(a => el.tagName + ' ' + a.name))""",
        [url, FETCHING],
    )


def assert_shown_as_text(page: Any, beacon: Beacon, name: str) -> None:
    page.wait_for_timeout(1500)  # anything the page would fetch has been asked for by now
    page.screenshot(path=str(SCREENSHOTS / f"payloads-{name}.png"), full_page=True)
    assert beacon.hits == [], name
    assert links_to_scripts_or_data(page) == [], name
    assert fetching_elements(page, beacon.url) == [], name


def test_answers_and_sets_never_make_the_browser_fetch_or_link_to_scripts(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    beacon: Beacon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    url, home, ollama = served_app
    add_payload_models(ollama, beacon.url)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})

    # Compare: the answer streams (drawn as it comes), then is drawn as stored.
    open_page(page, f"{url}/?annotator=ana")
    page.get_by_role("textbox", name="Question", exact=True).fill("Say something hostile.")
    pick_models(page, ["ollama:payload:7b"])
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_text("Running:").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text(END).first).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Compare")).to_be_enabled(timeout=30_000)
    settled(page)
    assert_shown_as_text(page, beacon, "compare")
    # Shown as the text it is: the image's Markdown, the raw tag.
    expect(page.get_by_text(f"![p]({beacon.url}/image)", exact=False).first).to_be_visible()
    expect(page.get_by_text(f'<img src="{beacon.url}/raw-img"', exact=False).first).to_be_visible()

    study_id = payload_study(home, ollama, beacon.url, tmp_path, monkeypatch)

    # Studies: the first item's question, reference, the reference model's and both answers.
    page.goto(f"{url}/studies?study={study_id}&annotator=ana")
    expect(page.get_by_text(f"Study {study_id} · hostile")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(END)).to_have_count(3, timeout=30_000)
    settled(page)
    expect(page.get_by_text(f"![q]({beacon.url}/question)", exact=False).first).to_be_visible()
    assert_shown_as_text(page, beacon, "studies")

    # The label queue, with the reference open, then its pairwise votes.
    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana")
    expect(page.get_by_text(END)).to_have_count(2, timeout=60_000)
    page.locator('[data-testid="stExpander"] summary', has_text="Reference answer").click()
    expect(page.get_by_text(f"![r]({beacon.url}/reference)", exact=False)).to_be_visible()
    settled(page)
    assert_shown_as_text(page, beacon, "queue")

    page.goto(f"{url}/label_queue?study={study_id}&annotator=ana&mode=arena")
    expect(page.get_by_text(END)).to_have_count(2, timeout=60_000)
    settled(page)
    assert_shown_as_text(page, beacon, "arena")

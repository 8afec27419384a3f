"""A finished study's page in chromium at 1400×900: its tables and charts are drawn, and none
runs past the window's right edge. Screenshots go to /tmp/studies*.png.

The study runs in this process against Ollama models served by the loopback protocol fixture
(no Ollama server can be installed here); the app only reads it from the store, as it reads a
study the CLI ran."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import png_bytes

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1400, 900
QUESTIONS = [
    "What does the error message say?",
    "Which button should the customer press next?",
    "Что написано на экране?",
    "Is the payment declined or pending?",
    "What is the order number?",
    "Which language is the screenshot in?",
]


def write_set(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = ["image,question,reference,language,tags"]
    for index, question in enumerate(QUESTIONS):
        (folder / f"shot{index}.png").write_bytes(
            png_bytes(size=(160, 100), color=["navy", "darkred", "darkgreen"][index % 3])
        )
        language = "ru" if "Что" in question else "en"
        lines.append(f'shot{index}.png,"{question}",An answer,{language},screenshot')
    (folder / "questions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture()
def models() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel(
                "qwen2.5vl:7b", ["The", "card", "was", "declined."], eval_duration_ns=90_000_000
            ),
            FakeModel("llava:13b", ["A", "payment", "screen."], eval_duration_ns=400_000_000),
            FakeModel("minicpm-v:8b", ["Error", "PAY-4021."], eval_duration_ns=200_000_000),
        ]
    ) as fixture:
        yield fixture


def finished_study(home: Path, models: OllamaFixture, tmp_path: Path, monkeypatch: Any) -> int:
    """A study of three models × six items × two repeats, run to the end and labeled by two
    annotators, in the served app's store."""
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    app = Lineup.open()
    app.sets.import_path(write_set(tmp_path / "support-screens"), name="support screens")
    specs = [f"ollama:{name}@{models.base_url}" for name in models.models]
    study = app.studies.start(set_name="support screens", models=specs, repeats=2, seed=1)
    deadline = time.monotonic() + 120
    while app.studies.progress(study.study_id).status != "done":
        assert time.monotonic() < deadline, "the study did not finish"
        time.sleep(0.1)
    tables = app.studies.tables(study.study_id)
    relevance = ["relevant", "partial", "irrelevant"]
    for (item_id, model), ids in tables.per_item_ids.items():
        rank = specs.index(model)
        for repeat, generation_id in enumerate(ids):
            choice = relevance[(rank + item_id + repeat) % 3] if rank else "relevant"
            app.labels.add(generation_id, choice, annotator="ana")
            if repeat == 0:
                app.labels.add(generation_id, relevance[(rank + item_id) % 2], annotator="bo")
    return study.study_id


def within_width(page: Any, selector: str) -> list[dict[str, float]]:
    """The bounding boxes of every element matching `selector`; each must be drawn (a width)
    and end inside the window."""
    boxes = [
        page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())
    ]
    for box in boxes:
        assert box is not None and box["width"] > 100, f"{selector} not drawn: {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{selector} cut off: {box}"
    return boxes  # type: ignore[return-value]


def test_a_finished_study_shows_its_tables_and_charts_within_the_window(
    served_app: tuple[str, Path, OllamaFixture],
    chromium: Any,
    models: OllamaFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    url, home, _ = served_app
    study_id = finished_study(home, models, tmp_path, monkeypatch)
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/studies?study={study_id}&annotator=ana")
    expect(page.get_by_text(f"Study {study_id} · support screens")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("36 of 36 answers")).to_be_visible(timeout=30_000)
    charts = page.locator('[data-testid="stPlotlyChart"]')
    # % relevant, speed, the ratings, per item
    expect(charts).to_have_count(4, timeout=30_000)
    # Answers to the first item, side by side.
    expect(page.get_by_text("The card was declined.").first).to_be_visible()
    expect(page.get_by_role("link", name="Label its answers")).to_be_visible()
    page.wait_for_timeout(1500)  # plotly lays its charts out after they mount
    page.screenshot(path="/tmp/studies-top.png")

    page.get_by_text("All studies (1)").click()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    tables = within_width(page, '[data-testid="stDataFrame"]')
    # The list of studies, relevance, speed, what the speed was measured under, scores, text
    # checks, ranking, kappa, repeats, agreement with a chosen model.
    assert len(tables) == 10
    within_width(page, '[data-testid="stPlotlyChart"]')
    within_width(page, '[data-testid="stProgress"]')
    # Every column of each table is in view: nothing to scroll sideways.
    for index in range(len(tables)):
        overflow = (
            page.locator('[data-testid="stDataFrame"]')
            .nth(index)
            .evaluate(
                "el => { const s = el.querySelector('.dvn-scroller');"
                " return s ? s.scrollWidth - s.clientWidth : -1 }"
            )
        )
        assert 0 <= overflow <= 1, f"table {index} scrolls sideways by {overflow} px"

    # The label queue link carries the study.
    href = page.get_by_role("link", name="Label its answers").get_attribute("href")
    assert href is not None and f"study={study_id}" in href

    # The whole page at the same width: Streamlit scrolls its main area, not the document, so
    # the window is made as tall as the page.
    tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": int(tall) + 100})
    page.wait_for_timeout(1500)
    page.screenshot(path="/tmp/studies-full.png")

"""The Studies page's scoring panel, headless with Streamlit's AppTest: run a reference model,
edit and keep the judge's template, score in the background and stop.

Models and judges: Ollama models served by the loopback protocol fixture
(tests/fixtures/ollama_server.py; no Ollama server can be installed here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from lineup.judge import DEFAULT_TEMPLATE
from lineup.models import JudgeScore
from lineup.service import Lineup
from tests.fixtures.ollama_server import FakeModel, OllamaFixture
from tests.pages.helpers import shown_texts
from tests.pages.test_studies_page import studies_page
from tests.unit.test_judge import json_reply, write_set

PANEL = """
from components.context import get_lineup
from components.study_scoring import scoring_panel

app = get_lineup()
scoring_panel(app, app.study({study_id}))
"""


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaFixture]:
    models = [
        FakeModel("alpha:1b", ["Seven", "apples."]),
        FakeModel("ref:9b", ["Three", "apples."]),
        FakeModel("judge:7b", json_reply(7)),
        FakeModel("pair:7b", ['{"score_1": 6, "score_2": 3, "reasons": "r"}']),
    ]
    with OllamaFixture(models) as fixture:
        # The default Ollama endpoint: the panel offers its models as ollama:NAME.
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


@pytest.fixture()
def study(ollama: OllamaFixture, tmp_path: Path) -> tuple[Lineup, int]:
    app = Lineup.open()
    app.import_set(write_set(tmp_path / "fruit"), name="fruit")
    state = app.start_study(set_name="fruit", models=[spec(ollama, "alpha:1b")]).wait()
    assert state.status == "done"
    return app, state.study_id


def spec(_fixture: OllamaFixture, name: str) -> str:
    return f"ollama:{name}"


def panel(study_id: int) -> AppTest:
    return AppTest.from_string(PANEL.format(study_id=study_id), default_timeout=60).run()


def verdict_count(app: Lineup) -> int:
    with app.store.session() as session:
        return session.scalar(select(func.count()).select_from(JudgeScore)) or 0


def wait_until(check, timeout_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_run_a_reference_model_then_score_pairwise_from_the_panel(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    at = panel(study_id)
    assert not at.exception
    score = next(b for b in at.button if b.label == "Score")
    assert score.disabled  # no judge chosen yet
    at.selectbox(key=f"reference-model-{study_id}").set_value(spec(ollama, "ref:9b")).run()
    next(b for b in at.button if b.label == "Run it").click().run()
    reference = app.reference_of(study_id)
    assert reference is not None and reference.models == (spec(ollama, "ref:9b"),)
    wait_until(lambda: app.study_progress(reference.id).status == "done")
    at.run()
    assert any("3 of 3 answers" in bar.proto.text for bar in at.get("progress"))

    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "pair:7b")).run()
    at.radio(key=f"judge-protocol-{study_id}").set_value("pairwise").run()
    next(b for b in at.button if b.label == "Score").click().run()
    job = app.judging(study_id)
    assert job is not None
    ended = job.wait(30)
    assert ended.run is not None and (ended.run.asked, ended.run.failed) == (6, 0)
    at.run()
    assert any("6 asked, 0 already scored, 0 failed" in s.value for s in at.success)
    # 6/3 first, 3/6 second: (2 + 0.5) / 2 per answer.
    (row,) = app.study_summary(study_id)["models"]
    assert row["judge_score"] == pytest.approx(1.25)


def test_the_template_is_kept_with_the_study_and_a_bad_one_is_refused(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    at = panel(study_id)
    key = f"judge-template-{study_id}-reference"
    assert at.text_area(key=key).value == DEFAULT_TEMPLATE
    at.text_area(key=key).set_value("Grade {answer}.").run()
    next(b for b in at.button if b.label == "Save template").click().run()
    assert any("lacks {question}, {reference}" in e.value for e in at.error)
    assert app.judge_template(study_id) == DEFAULT_TEMPLATE

    edited = "Strict.\n" + DEFAULT_TEMPLATE
    at.text_area(key=key).set_value(edited).run()
    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "judge:7b")).run()
    # Score saves the edit first, then asks.
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.error
    assert app.judge_template(study_id) == edited
    job = app.judging(study_id)
    assert job is not None and job.wait(30).run is not None
    assert verdict_count(app) == 2  # the two items with a reference
    assert panel(study_id).text_area(key=key).value == edited  # a new session sees it

    next(b for b in at.button if b.label == "Back to the default").click().run()
    assert app.judge_template(study_id) == DEFAULT_TEMPLATE
    assert at.text_area(key=key).value == DEFAULT_TEMPLATE


def test_pairwise_without_a_reference_model_cannot_start(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    at = panel(study_id)
    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "pair:7b")).run()
    at.radio(key=f"judge-protocol-{study_id}").set_value("pairwise").run()
    assert next(b for b in at.button if b.label == "Score").disabled
    assert any("needs a reference model" in c.value for c in at.caption)
    assert app.judging(study_id) is None and verdict_count(app) == 0


def test_the_studies_page_shows_the_panel_and_the_reference_models_answer_apart(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    assert app.start_reference(study_id, spec(ollama, "ref:9b")).wait().status == "done"
    at = studies_page(study=str(study_id))
    assert not at.exception
    assert any(e.label.startswith("Score this study") for e in at.expander)
    shown = [c.value for c in at.caption if "Reference model `ollama:ref:9b`" in c.value]
    assert len(shown) == 1 and "never ranked" in shown[0]
    assert "Three apples." in shown_texts(at)
    # The reference model's own study says whose it is, and has no scoring panel.
    reference = app.reference_of(study_id)
    assert reference is not None
    at = studies_page(study=str(reference.id))
    assert any(f"reference model of study {study_id}" in i.value for i in at.info)
    assert not any(e.label.startswith("Score this study") for e in at.expander)

"""The Studies page's scoring panel, headless with Streamlit's AppTest: run a reference model,
edit and keep the judge's template, score in the background and stop.

Models and judges: Ollama models served by the loopback protocol fixture
(testbed/ollama_server.py; no Ollama server can be installed here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from lineup.score.judge_prompt import DEFAULT_TEMPLATE
from lineup.store.tables import JudgeScore
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import json_reply, write_judge_set
from tests.pages.helpers import shown_texts, studies_page

PANEL = """
from components.context import get_lineup
from components.study import scoring_panel

app = get_lineup()
scoring_panel(app, app.studies.get({study_id}))
"""


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaFixture]:
    models = [
        FakeModel("alpha:1b", ["Seven", "apples."]),
        FakeModel("ref:9b", ["Three", "apples."]),
        FakeModel("judge:7b", json_reply(7)),
        FakeModel("pair:7b", ['{"score_1": 6, "score_2": 3, "reasons": "r"}']),
        FakeModel("chatty:135m", ["I", "think", "the", "answer", "is", "fine."]),
        # Still at its first answer while a test looks at the running study.
        FakeModel("slow:1b", ["Late."], first_delay_s=60),
        FakeModel("slowjudge:7b", json_reply(5), first_delay_s=60),
    ]
    with OllamaFixture(models) as fixture:
        # The default Ollama endpoint: the panel offers its models as ollama:NAME.
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


@pytest.fixture()
def study(ollama: OllamaFixture, tmp_path: Path) -> tuple[Lineup, int]:
    app = Lineup.open()
    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    state = app.studies.start(set_name="fruit", models=[spec(ollama, "alpha:1b")]).wait()
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
    reference = app.scores.reference_of(study_id)
    assert reference is not None and reference.models == (spec(ollama, "ref:9b"),)
    wait_until(lambda: app.studies.progress(reference.id).status == "done")
    at.run()
    assert any("3 of 3 answers" in bar.proto.text for bar in at.get("progress"))

    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "pair:7b")).run()
    at.radio(key=f"judge-protocol-{study_id}").set_value("pairwise").run()
    next(b for b in at.button if b.label == "Score").click().run()
    job = app.scores.judging(study_id)
    assert job is not None
    ended = job.wait(30)
    assert ended.run is not None and (ended.run.asked, ended.run.failed) == (6, 0)
    at.run()
    assert any(
        "6 asked, 0 already judged, 0 failed; 6 of 6 verdicts scored" in s.value for s in at.success
    )
    # 6/3 first, 3/6 second: (6 + 3) / (3 + 6) = 1 per answer, the order alone decides.
    (row,) = app.studies.summary(study_id)["models"]
    assert row["judge_score"] == pytest.approx(1.0)


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
    assert app.scores.template(study_id) == DEFAULT_TEMPLATE

    edited = "Strict.\n" + DEFAULT_TEMPLATE
    at.text_area(key=key).set_value(edited).run()
    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "judge:7b")).run()
    # Score saves the edit first, then asks.
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.error
    assert app.scores.template(study_id) == edited
    job = app.scores.judging(study_id)
    assert job is not None and job.wait(30).run is not None
    assert verdict_count(app) == 2  # the two items with a reference
    assert panel(study_id).text_area(key=key).value == edited  # a new session sees it

    next(b for b in at.button if b.label == "Back to the default").click().run()
    assert app.scores.template(study_id) == DEFAULT_TEMPLATE
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
    assert app.scores.judging(study_id) is None and verdict_count(app) == 0


def test_the_studies_page_shows_the_panel_and_the_reference_models_answer_apart(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    assert app.scores.start_reference(study_id, spec(ollama, "ref:9b")).wait().status == "done"
    at = studies_page(study=str(study_id))
    assert not at.exception
    assert any(e.label.startswith("Score this study") for e in at.expander)
    shown = [c.value for c in at.caption if "Reference model `ollama:ref:9b`" in c.value]
    assert len(shown) == 1 and "never ranked" in shown[0]
    assert "Three apples." in shown_texts(at)
    # The reference model's own study says whose it is, and has no scoring panel.
    reference = app.scores.reference_of(study_id)
    assert reference is not None
    at = studies_page(study=str(reference.id))
    assert any(f"reference model of study {study_id}" in i.value for i in at.info)
    assert not any(e.label.startswith("Score this study") for e in at.expander)


# The judge's limits, a failed run, and the picker after a reload -----------------------------


def test_the_judge_s_token_limit_and_timeout_are_set_in_the_panel_and_kept_with_each_verdict(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    at = panel(study_id)
    assert at.number_input(key=f"judge-max-tokens-{study_id}").value == 512
    assert at.number_input(key=f"judge-timeout-{study_id}").value == 120.0
    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "judge:7b")).run()
    at.number_input(key=f"judge-max-tokens-{study_id}").set_value(96).run()
    at.number_input(key=f"judge-timeout-{study_id}").set_value(45.0).run()
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception and not at.error
    job = app.scores.judging(study_id)
    assert job is not None and job.wait(30).run is not None
    judged = [c for c in ollama.chat_requests() if c["model"] == "judge:7b"]
    assert [c["options"]["num_predict"] for c in judged] == [96, 96]
    with app.store.session() as session:
        kept = session.execute(select(JudgeScore.max_tokens, JudgeScore.timeout_s)).all()
    assert [tuple(row) for row in kept] == [(96, 45.0), (96, 45.0)]


def test_a_run_where_most_verdicts_failed_is_shown_as_a_failure_with_its_replies(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    at = panel(study_id)
    at.selectbox(key=f"judge-model-{study_id}").set_value(spec(ollama, "chatty:135m")).run()
    next(b for b in at.button if b.label == "Score").click().run()
    job = app.scores.judging(study_id)
    assert job is not None
    ended = job.wait(30)
    assert ended.run is not None and (ended.run.asked, ended.run.failed) == (2, 2)
    at.run()
    assert not at.exception
    assert not at.success  # never a green "done"
    [failure] = [e.value for e in at.error if "Judge" in e.value]
    assert "failed" in failure and "2 of 2 verdicts have no score" in failure
    # The first replies, as text, and a hint.
    shown = [c.value for c in at.code]
    assert shown.count("I think the answer is fine.") == 2
    assert any("small model may need a simpler template" in c.value for c in at.caption)


def test_a_fresh_session_shows_the_study_s_latest_judge_in_the_picker(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    # A judge named with its endpoint's address: not among the discovered ollama:NAME specs.
    judge = f"ollama:judge:7b@{ollama.base_url}"
    app.scores.judge(study_id, judge, max_tokens=256, timeout_s=60)
    at = panel(study_id)  # a new session, as after a reload
    assert not at.exception
    picker = at.selectbox(key=f"judge-model-{study_id}")
    assert picker.value == judge
    assert judge in picker.options
    assert at.radio(key=f"judge-protocol-{study_id}").value == "reference"
    assert at.number_input(key=f"judge-max-tokens-{study_id}").value == 256
    assert at.number_input(key=f"judge-timeout-{study_id}").value == 60.0
    assert not next(b for b in at.button if b.label == "Score").disabled

    # After a pairwise judge, that one is the study's latest.
    assert app.scores.start_reference(study_id, spec(ollama, "ref:9b")).wait().status == "done"
    app.scores.judge(study_id, spec(ollama, "pair:7b"), protocol="pairwise")
    at = panel(study_id)
    assert at.selectbox(key=f"judge-model-{study_id}").value == spec(ollama, "pair:7b")
    assert judge in at.selectbox(key=f"judge-model-{study_id}").options  # the earlier one too
    assert at.radio(key=f"judge-protocol-{study_id}").value == "pairwise"


def test_a_fresh_session_while_a_judge_runs_shows_the_running_judge_in_the_picker(
    study: tuple[Lineup, int], ollama: OllamaFixture
) -> None:
    app, study_id = study
    app.scores.judge(study_id, spec(ollama, "judge:7b"))  # an earlier judge, finished
    job = app.scores.start_judging(
        study_id, spec(ollama, "slowjudge:7b"), max_tokens=128, timeout_s=90
    )
    try:
        wait_until(lambda: job.progress().total is not None or ollama.in_flight > 0)
        at = panel(study_id)  # a reload while its first request is in flight
        assert not at.exception
        assert at.selectbox(key=f"judge-model-{study_id}").value == spec(ollama, "slowjudge:7b")
        assert at.number_input(key=f"judge-max-tokens-{study_id}").value == 128
        assert at.number_input(key=f"judge-timeout-{study_id}").value == 90.0
        assert any("slowjudge:7b" in bar.proto.text for bar in at.get("progress"))
        # Stop: the request in flight is no verdict, so the run is stopped, not failed.
        next(b for b in at.button if b.label == "Stop the judge").click().run()
        ended = job.wait(30)
        assert ended.stopped and ended.run is not None
        assert (ended.run.asked, ended.run.scored, ended.run.unscored) == (1, 0, 0)
        assert not ended.run.mostly_failed
        at.run()
        assert not at.error
        assert any("slowjudge:7b` (reference) stopped" in i.value for i in at.info)
    finally:
        job.stop()
        assert not job.wait(30).running


def test_a_running_study_whose_items_have_references_does_not_say_there_are_none(
    ollama: OllamaFixture, tmp_path: Path
) -> None:
    app = Lineup.open()
    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    study_id = app.studies.start(set_name="fruit", models=[spec(ollama, "slow:1b")]).study_id
    try:
        assert app.studies.progress(study_id).status == "running"
        at = studies_page(study=str(study_id))
        assert not at.exception
        assert app.studies.progress(study_id).done == 0  # no answer yet: the page drew it running
        captions = [c.value for c in at.caption]
        assert not any("no item has a reference answer" in c for c in captions), captions
        assert any("2 of 3 items have a reference answer" in c for c in captions), captions
    finally:
        app.studies.cancel(study_id)
        wait_until(lambda: app.studies.progress(study_id).status == "cancelled")

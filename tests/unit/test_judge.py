"""The LLM judge, protocol (a) against a reference answer: what the judge sees (never a model
name), the verdicts stored and cached per prompt, failures kept apart from the mean, and the
reply parser.

The study's models and the judges are Ollama models served by testbed/ollama_server.py
(a loopback fixture that speaks Ollama's documented protocol); the judges have a fixture of
their own, so its chat requests are the judge's alone."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core.limits import InputError
from lineup.run import IN_FLIGHT, THIS_MACHINE
from lineup.score.judge import JudgeRun, judge_study
from lineup.score.judge_prompt import DEFAULT_TEMPLATE, JudgeReplyError, parse_reply, prompt_hash
from lineup.store import this_owner
from lineup.store.tables import (
    JUDGE_ASKING,
    JUDGE_FAILED,
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    Generation,
    JudgeScore,
)
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import JUDGE_QUESTIONS, JUDGE_REFERENCES, json_reply, write_judge_set


@pytest.fixture()
def candidates() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel("alphavlm:1b", ["Seven", "apples."]),
            FakeModel("betavlm:1b", ["Some", "cats."]),
        ]
    ) as fixture:
        yield fixture


@pytest.fixture()
def judges() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel("judge:7b", json_reply(8)),
            FakeModel("garbage:7b", ["I", "would", "rather", "not", "say."]),
            FakeModel("textonly:7b", json_reply(6), vision=False),
        ]
    ) as fixture:
        yield fixture


def spec(fixture: OllamaFixture, name: str) -> str:
    return f"ollama:{name}@{fixture.base_url}"


@pytest.fixture()
def study(lineup_home: Path, tmp_path: Path, candidates: OllamaFixture) -> tuple[Lineup, int]:
    """A finished study: 3 items (one without a reference) x 2 models, all answers `ok`."""
    app = Lineup.open()
    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    models = [spec(candidates, "alphavlm:1b"), spec(candidates, "betavlm:1b")]
    state = app.studies.start(set_name="fruit", models=models).wait()
    assert state.status == "done" and state.errors == 0
    return app, state.study_id


def verdicts(app: Lineup, study_id: int) -> list[JudgeScore]:
    with app.store.session() as session:
        return list(
            session.scalars(
                select(JudgeScore).where(JudgeScore.study_id == study_id).order_by(JudgeScore.id)
            )
        )


def test_the_judge_sees_question_reference_answer_and_image_and_never_a_model_name(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    run = app.scores.judge(study_id, spec(judges, "judge:7b"))
    assert (run.asked, run.cached, run.failed, run.skipped) == (4, 0, 0, 2)
    chats = judges.chat_requests()
    assert len(chats) == 4
    prompts = [chat["messages"][-1]["content"] for chat in chats]
    for chat in chats:
        sent = json.dumps(chat)
        for name in ("alphavlm", "betavlm", "ollama:"):
            assert name not in sent
        assert chat["model"] == "judge:7b"
        assert chat["options"]["temperature"] == 0.0
        # The judge's model lists the vision capability: it gets the item's image.
        assert len(chat["messages"][-1]["images"]) == 1
    # Items in order, the models in the study's order; the item without a reference is skipped.
    expected = [
        (JUDGE_QUESTIONS[0], JUDGE_REFERENCES[0], "Seven apples."),
        (JUDGE_QUESTIONS[0], JUDGE_REFERENCES[0], "Some cats."),
        (JUDGE_QUESTIONS[2], JUDGE_REFERENCES[2], "Seven apples."),
        (JUDGE_QUESTIONS[2], JUDGE_REFERENCES[2], "Some cats."),
    ]
    for prompt, (question, reference, answer) in zip(prompts, expected, strict=True):
        assert prompt == DEFAULT_TEMPLATE.replace("{question}", question).replace(
            "{reference}", reference
        ).replace("{answer}", answer)
    assert all(JUDGE_QUESTIONS[1] not in prompt for prompt in prompts)
    # Each row holds what was sent (the image as its media hash) and the parsed verdict.
    rows = verdicts(app, study_id)
    assert [(r.status, r.score, r.reasons, r.error) for r in rows] == [
        (JUDGE_SCORED, 8.0, "close", None)
    ] * 4
    for row, prompt in zip(rows, prompts, strict=True):
        assert row.saw_image is True
        assert row.prompt_hash == prompt_hash(prompt)
        assert row.request["messages"][0]["content"] == prompt
        (image_hash,) = row.request["messages"][0]["images"]
        assert app.media_path(image_hash) is not None
        assert row.reply == '{"score": 8, "reasons": "close"}'
        assert row.owner_pid is None and row.finished_at is not None


def test_figures_are_the_mean_of_score_over_ten_with_no_interval_from_two_items(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = judges.models["judge:7b"]
    scores = iter([9, 4, 7])  # after the first answer's 8: item 1 beta, item 3 alpha, beta

    def next_reply(done: int, total: int) -> None:
        judge.words = json_reply(next(scores, 1))

    app.scores.judge(study_id, spec(judges, "judge:7b"), on_progress=next_reply)
    figures = app.scores.judge_figures(study_id, spec(judges, "judge:7b"))
    info = app.studies.get(study_id)
    assert info is not None
    alpha, beta = info.models
    assert list(figures) == [alpha, beta]
    # Answers in order: item 1 alpha 8, beta 9; item 3 alpha 4, beta 7.
    # Two items are below the item bootstrap's floor of 5: no interval, and the reason.
    for model, expected in ((alpha, [0.8, 0.4]), (beta, [0.9, 0.7])):
        assert figures[model] == {
            "judge_score": pytest.approx(sum(expected) / 2),
            "judge_score_ci_low": None,
            "judge_score_ci_high": None,
            "judge_score_ci_method": "item-bootstrap",
            "judge_score_ci_reason": "fewer than 5 items (2): no interval",
            "judged": 2,
            "judge_failures": 0,
        }
    # study show carries the figures of the judge that ran last.
    shown = {m["model"]: m for m in app.studies.summary(study_id)["models"]}
    for model in (alpha, beta):
        assert {key: shown[model][key] for key in figures[model]} == pytest.approx(figures[model])


def test_a_reply_without_a_score_is_a_stored_failure_not_a_zero(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    garbage = spec(judges, "garbage:7b")
    run = app.scores.judge(study_id, garbage)
    assert (run.asked, run.failed) == (4, 4)
    rows = verdicts(app, study_id)
    assert {(r.status, r.score, r.reply) for r in rows} == {
        (JUDGE_UNPARSED, None, "I would rather not say.")
    }
    assert all("has no score" in (r.error or "") for r in rows)
    # Counted apart, not in the mean.
    figures = app.scores.judge_figures(study_id, garbage)
    assert {
        m: (f["judge_score"], f["judged"], f["judge_failures"]) for m, f in figures.items()
    } == {model: (None, 0, 2) for model in figures}
    # One answer re-scored by hand as a mix: the failure stays out of that model's mean.
    with app.store.session() as session:
        session.execute(
            update(JudgeScore)
            .where(JudgeScore.id == rows[0].id)
            .values(status=JUDGE_SCORED, score=5.0, error=None)
        )
    first_model = next(iter(figures))
    mixed = app.scores.judge_figures(study_id, garbage)[first_model]
    assert (mixed["judge_score"], mixed["judged"], mixed["judge_failures"]) == (0.5, 1, 1)
    # An unparsable reply is the judge's verdict: a re-run does not ask again.
    assert app.scores.judge(study_id, garbage).asked == 0


def test_a_second_run_asks_nothing_and_an_edited_template_asks_again(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = spec(judges, "judge:7b")
    app.scores.judge(study_id, judge)
    assert len(judges.chat_requests()) == 4
    again = app.scores.judge(study_id, judge)
    assert (again.asked, again.cached, again.failed) == (0, 4, 0)
    assert len(judges.chat_requests()) == 4

    edited = "Be strict.\n" + DEFAULT_TEMPLATE
    judges.models["judge:7b"].words = json_reply(3)
    third = app.scores.judge(study_id, judge, edited)
    assert (third.asked, third.cached) == (4, 0)
    assert len(judges.chat_requests()) == 8
    assert all(
        c["messages"][-1]["content"].startswith("Be strict.") for c in judges.chat_requests()[4:]
    )
    # The figures follow each answer's latest verdict: the edited template's.
    figures = app.scores.judge_figures(study_id, judge)
    assert [f["judge_score"] for f in figures.values()] == [pytest.approx(0.3)] * 2
    assert len(verdicts(app, study_id)) == 8


def test_a_text_only_judge_gets_no_image_and_the_row_says_so(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    app.scores.judge(study_id, spec(judges, "textonly:7b"))
    assert all("images" not in c["messages"][-1] for c in judges.chat_requests())
    rows = verdicts(app, study_id)
    assert {(r.saw_image, "images" in r.request["messages"][0]) for r in rows} == {(False, False)}


def test_a_failed_request_and_a_dead_process_s_question_are_asked_again(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = spec(judges, "judge:7b")
    judges.models["judge:7b"].fail_with = "out of memory"
    first = app.scores.judge(study_id, judge)
    assert (first.asked, first.failed) == (4, 4)
    rows = verdicts(app, study_id)
    assert {r.status for r in rows} == {JUDGE_FAILED}
    assert all("out of memory" in (r.error or "") for r in rows)
    assert {f["judge_failures"] for f in app.scores.judge_figures(study_id, judge).values()} == {2}

    # One question was in flight in a process that is gone (no such pid on this host).
    with app.store.session() as session:
        session.execute(
            update(JudgeScore)
            .where(JudgeScore.id == rows[0].id)
            .values(status=JUDGE_ASKING, owner_host=this_owner()[0], owner_pid=2**22 + 7)
        )
    judges.models["judge:7b"].fail_with = None
    second = app.scores.judge(study_id, judge)
    assert (second.asked, second.cached, second.failed) == (4, 0, 0)
    assert [r.id for r in verdicts(app, study_id)] == [r.id for r in rows]  # asked in place
    assert {r.status for r in verdicts(app, study_id)} == {JUDGE_SCORED}


def test_only_the_study_s_current_complete_answers_count(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = spec(judges, "judge:7b")
    app.scores.judge(study_id, judge)
    # An answer that left the study (its key released) no longer counts.
    with app.store.session() as session:
        gone = session.scalars(
            select(Generation.id).where(Generation.study_id == study_id).order_by(Generation.id)
        ).first()
        session.execute(update(Generation).where(Generation.id == gone).values(study_id=None))
    assert sum(f["judged"] for f in app.scores.judge_figures(study_id, judge).values()) == 3


def test_bad_input_is_refused_before_anything_is_asked(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = spec(judges, "judge:7b")
    with pytest.raises(InputError, match="no study 999"):
        app.scores.judge(999, judge)
    with pytest.raises(InputError, match=r"lacks \{reference\}"):
        app.scores.judge(study_id, judge, "Q: {question}\nA: {answer}")
    with pytest.raises(InputError, match="protocol"):
        app.scores.judge(study_id, judge, protocol="pairwise")
    assert judges.chat_requests() == []


def test_study_score_prints_its_counts_and_exits_2_for_bad_input(
    study: tuple[Lineup, int],
    judges: OllamaFixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, study_id = study
    judge = spec(judges, "judge:7b")
    capsys.readouterr()
    code = main(["study", "score", str(study_id), "--judge", judge, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {
        "study_id": study_id,
        "judge": judge,
        "protocol": "reference",
        "asked": 4,
        "cached": 0,
        "failed": 0,
        "busy": 0,
        "skipped": 2,
        "scored": 4,
        "unscored": 0,
        "mostly_failed": False,
        "failed_replies": [],
        "reference": None,
    }
    assert "2 answer(s) are not scored: their item has no reference" in err

    template = tmp_path / "strict.txt"
    template.write_text("Grade {answer} for {question} against {reference}.", encoding="utf-8")
    code = main(
        ["study", "score", str(study_id), "--judge", judge, "--template-file", str(template)]
        + ["--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["asked"] == 4
    assert judges.chat_requests()[-1]["messages"][-1]["content"] == (
        "Grade Some cats. for How many cats are there? against Two cats.."
    )

    template.write_text("Grade {answer}.", encoding="utf-8")
    for argv in (
        ["study", "score", "999", "--judge", judge],
        ["study", "score", str(study_id), "--judge", "nokind"],
        ["study", "score", str(study_id), "--judge", "piper:en_US-joe-medium"],
        ["study", "score", str(study_id), "--judge", judge, "--template-file", str(template)],
        ["study", "score", str(study_id), "--judge", judge, "--template-file", "/no/such/file"],
    ):
        assert main(argv) == 2, argv
        assert capsys.readouterr().err.startswith("error: ")
    assert len(judges.chat_requests()) == 8


# The reply parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "score", "reasons"),
    [
        ('{"score": 8, "reasons": "close"}', 8.0, "close"),
        ('```json\n{"score": 7.5, "reasons": "mostly"}\n```', 7.5, "mostly"),
        ('Here is my verdict:\n```\n{"score": "9", "reasons": "same"}\n```\nThanks.', 9.0, "same"),
        ('I think {"score": 1, "reasons": "wrong"} sums it up.', 1.0, "wrong"),
        ('{"score": 10}', 10.0, ""),
        ("Score: 6\nReasons: misses the colour.", 6.0, "misses the colour."),
        ("The answer is partly right.\n**Score:** 4/10", 4.0, "The answer is partly right."),
        ("score = 3", 3.0, ""),
        ("Score: 2\nthen on reflection\nScore: 5", 5.0, "Score: 2\nthen on reflection"),
    ],
)
def test_parse_reply_reads_json_or_a_score_line(reply: str, score: float, reasons: str) -> None:
    assert parse_reply(reply) == (score, reasons)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I would rather not say.", "has no score"),
        ("", "has no score"),
        ('{"score": 11, "reasons": "great"}', "outside the scale 1-10"),
        ('{"score": 0}', "outside the scale 1-10"),
        ("Score: 12", "outside the scale 1-10"),
        ('{"score": "high"}', "not a number"),
        ('{"score": true}', "not a number"),
        ('{"score": null}', "not a number"),
        ('{"verdict": 8}', "has no score"),
    ],
)
def test_parse_reply_refuses_a_reply_without_a_score_on_the_scale(reply: str, message: str) -> None:
    with pytest.raises(JudgeReplyError, match=message):
        parse_reply(reply)


def test_a_judge_slower_than_the_timeout_is_stopped_and_recorded_as_failed(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judges.models["judge:7b"].first_delay_s = 2.0
    started = time.perf_counter()
    judge = app.catalog.resolve(spec(judges, "judge:7b"), "vlm")
    run = judge_study(
        app.store,
        study_id,
        judge,
        judge.backend(),
        sees_images=False,
        timeout_s=0.2,
    )
    assert time.perf_counter() - started < 4 * 2.0  # each request stopped, not waited out
    assert (run.asked, run.failed) == (4, 4)
    rows = verdicts(app, study_id)
    assert {r.status for r in rows} == {JUDGE_FAILED}
    assert all((r.error or "").startswith("Timed out after 0.2 s") for r in rows)
    assert all("judge" in (r.error or "") for r in rows)


def test_the_judge_is_compared_with_each_persons_label_on_the_same_answer(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    from lineup.score.agreement import judge_agreement

    app, study_id = study
    judge = judges.models["judge:7b"]
    scores = iter([9, 4, 7])  # after the first answer's 8, in the order the answers are judged

    def next_reply(done: int, total: int) -> None:
        judge.words = json_reply(next(scores, 1))

    app.scores.judge(study_id, spec(judges, "judge:7b"), on_progress=next_reply)
    by_answer = {v.generation_id: v.score for v in verdicts(app, study_id)}
    assert sorted(by_answer.values()) == [4, 7, 8, 9]
    # Two people label every judged answer; ana agrees with the judge's order, bo does not.
    ana = {8: "relevant", 9: "relevant", 4: "irrelevant", 7: "partial"}
    bo = {8: "irrelevant", 9: "partial", 4: "relevant", 7: "partial"}
    expected_scores: list[float] = []
    expected_labels: list[str] = []
    for generation_id, score in sorted(by_answer.items()):
        for name, labels in (("ana", ana), ("bo", bo)):
            app.labels.add(generation_id, labels[int(score)], annotator=name)
            expected_scores.append(float(score))
            expected_labels.append(labels[int(score)])
    expected = judge_agreement(expected_scores, expected_labels)
    shown = app.studies.summary(study_id)["agreement"]["judge"]
    assert shown["judge"] == spec(judges, "judge:7b") and shown["n"] == 8
    assert shown["spearman"] == pytest.approx(expected.spearman)
    assert shown["kappa"] == pytest.approx(expected.kappa)
    # Disputes (lineup.score.judge_reliability), worked by hand: bo calls the answer scored 8
    # (read: relevant) irrelevant, two steps; every other label is at most one step from the
    # score's reading (4 partial against relevant and irrelevant, 9 relevant against partial).
    (reliability,) = app.studies.summary(study_id)["judge_reliability"]
    assert reliability["protocol"] == "reference"
    assert (reliability["pairs"], reliability["flip_rate"]) == (None, None)
    eight = next(gid for gid, score in by_answer.items() if score == 8)
    assert (reliability["disputed"], reliability["disagreed"], reliability["flipped"]) == (1, 1, 0)
    assert [(d["generation_id"], d["disagreed_with"]) for d in reliability["disputed_answers"]] == [
        (eight, ["bo"])
    ]
    queue = app.labels.queue(study_id, "cy", disputed=True)
    assert queue.answers == frozenset({eight}) and queue.total == 1


# The judge's own limits: max tokens and timeout ------------------------------------------------


def test_the_judge_request_carries_its_token_limit_and_each_verdict_keeps_its_limits(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    app.scores.judge(study_id, spec(judges, "judge:7b"))
    chats = judges.chat_requests()
    assert len(chats) == 4
    # What the loopback server received: Ollama's name for the limit is num_predict.
    assert {chat["options"]["num_predict"] for chat in chats} == {512}
    rows = verdicts(app, study_id)
    assert {(r.max_tokens, r.timeout_s) for r in rows} == {(512, 120.0)}
    assert {r.request["max_tokens"] for r in rows} == {512}

    app.scores.judge(study_id, spec(judges, "textonly:7b"), max_tokens=64, timeout_s=30)
    assert {chat["options"]["num_predict"] for chat in judges.chat_requests()[4:]} == {64}
    rows = [r for r in verdicts(app, study_id) if r.judge_spec == spec(judges, "textonly:7b")]
    assert len(rows) == 4
    assert {(r.max_tokens, r.timeout_s, r.request["max_tokens"]) for r in rows} == {(64, 30.0, 64)}


def test_a_judge_that_never_stops_is_cut_at_its_timeout_and_stored_as_failed(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    # A server that ignores the token limit and repeats a line for ever (as SmolLM2 did).
    endless = judges.models["garbage:7b"]
    endless.reply = lambda body: itertools.repeat("Score")  # type: ignore[assignment,return-value]
    endless.delay_s = 0.01
    started = time.perf_counter()
    run = app.scores.judge(study_id, spec(judges, "garbage:7b"), max_tokens=100, timeout_s=0.5)
    assert time.perf_counter() - started < 4 * 10  # each answer cut, not waited out
    assert (run.asked, run.failed) == (4, 4)
    rows = verdicts(app, study_id)
    assert {(r.status, r.max_tokens, r.timeout_s) for r in rows} == {(JUDGE_FAILED, 100, 0.5)}
    for row in rows:
        error = row.error or ""
        assert error.startswith("Timed out after 0.5 s (the judge's timeout)"), error
        assert "token limit (100)" in error and "--judge-timeout" in error
        assert (row.reply or "").startswith("Score Score")  # what it sent until then is kept


def test_a_reply_cut_at_the_token_limit_says_so_in_its_failure(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    # A server that honours the limit, as Ollama does: it stops after num_predict tokens.
    capped = judges.models["garbage:7b"]
    capped.reply = lambda body: ["again"] * body["options"]["num_predict"]
    capped.done_reason = "length"
    run = app.scores.judge(study_id, spec(judges, "garbage:7b"), max_tokens=8)
    assert (run.asked, run.failed) == (4, 4)
    rows = verdicts(app, study_id)
    assert {(r.status, r.reply) for r in rows} == {(JUDGE_UNPARSED, " ".join(["again"] * 8))}
    assert all(
        (r.error or "").startswith("The judge's reply was cut at its limit of 8 tokens")
        for r in rows
    )
    # A cut reply is asked again once the limit changes, not while it stays the same.
    assert app.scores.judge(study_id, spec(judges, "garbage:7b"), max_tokens=8).asked == 0
    capped.reply = None
    capped.done_reason = "stop"
    capped.words = json_reply(5)
    again = app.scores.judge(study_id, spec(judges, "garbage:7b"), max_tokens=300)
    assert (again.asked, again.failed) == (4, 0)
    assert {(r.status, r.score, r.max_tokens) for r in verdicts(app, study_id)} == {
        (JUDGE_SCORED, 5.0, 300)
    }
    # A scored verdict stays, whatever the limit.
    assert app.scores.judge(study_id, spec(judges, "garbage:7b"), max_tokens=16).asked == 0


def test_study_score_takes_the_judges_token_limit_and_timeout(
    study: tuple[Lineup, int], judges: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    _, study_id = study
    judge = spec(judges, "judge:7b")
    code = main(
        ["study", "score", str(study_id), "--judge", judge, "--json"]
        + ["--judge-max-tokens", "64", "--judge-timeout", "30"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["asked"] == 4
    assert {chat["options"]["num_predict"] for chat in judges.chat_requests()} == {64}
    app = Lineup.open()
    assert {(r.max_tokens, r.timeout_s) for r in verdicts(app, study_id)} == {(64, 30.0)}


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--judge-max-tokens", "0", "token limit must be between 1"),
        ("--judge-max-tokens", "-5", "token limit must be between 1"),
        ("--judge-max-tokens", "2147483648", "token limit must be between 1"),
        ("--judge-max-tokens", "12.5", "is not a whole number"),
        ("--judge-max-tokens", "many", "is not a whole number"),
        ("--judge-timeout", "0", "timeout must be a number above 0"),
        ("--judge-timeout", "-1", "timeout must be a number above 0"),
        ("--judge-timeout", "nan", "timeout must be a number above 0"),
        ("--judge-timeout", "inf", "timeout must be a number above 0"),
        ("--judge-timeout", "86401", "at most 86400"),
        ("--judge-timeout", "soon", "is not a number of seconds"),
    ],
)
def test_study_score_refuses_a_bad_judge_limit_with_exit_2_and_stores_nothing(
    study: tuple[Lineup, int],
    judges: OllamaFixture,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    app, study_id = study
    capsys.readouterr()
    argv = ["study", "score", str(study_id), "--judge", spec(judges, "judge:7b"), flag, value]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit for a bad value
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert judges.chat_requests() == []
    assert verdicts(app, study_id) == []


@pytest.mark.parametrize(
    "limits",
    [
        {"max_tokens": 0},
        {"max_tokens": 2**31},
        {"timeout_s": 0.0},
        {"timeout_s": -3.0},
        {"timeout_s": math.nan},
        {"timeout_s": math.inf},
    ],
)
def test_the_facade_refuses_a_bad_judge_limit_before_anything_is_asked(
    study: tuple[Lineup, int], judges: OllamaFixture, limits: dict[str, Any]
) -> None:
    app, study_id = study
    judge = spec(judges, "judge:7b")
    with pytest.raises(InputError, match="token limit must be|timeout must be"):
        app.scores.judge(study_id, judge, **limits)
    with pytest.raises(InputError, match="token limit must be|timeout must be"):
        app.scores.start_judging(study_id, judge, **limits)
    assert app.scores.judging(study_id) is None
    assert judges.chat_requests() == [] and verdicts(app, study_id) == []


# A run where most verdicts failed ----------------------------------------------------------------


def test_study_score_says_a_run_where_most_verdicts_failed_failed_and_shows_the_replies(
    study: tuple[Lineup, int], judges: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    _, study_id = study
    garbage = spec(judges, "garbage:7b")
    capsys.readouterr()
    code = main(["study", "score", str(study_id), "--judge", garbage, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err  # the command did its job; the judge failed at its own
    result = json.loads(out)
    assert (result["asked"], result["failed"], result["scored"], result["unscored"]) == (4, 4, 0, 4)
    assert result["mostly_failed"] is True
    replies = result["failed_replies"]
    assert len(replies) == 3  # the first few, in the order asked
    assert {(r["status"], r["reply"]) for r in replies} == {("unparsed", "I would rather not say.")}
    assert all("has no score" in r["error"] for r in replies)
    assert len({r["generation_id"] for r in replies}) == 3

    # Again, in words: the stored unparsed verdicts are asked nothing, and still a failure.
    code = main(["study", "score", str(study_id), "--judge", garbage])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"judge {garbage} (reference) failed: 4 of 4 verdicts have no score" in out
    assert "0 asked, 4 already judged" in out
    assert err.count("I would rather not say.") == 3
    assert "A small model may need a simpler template" in err


def test_a_run_where_few_verdicts_failed_is_not_called_a_failure(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    judge = judges.models["judge:7b"]
    replies = iter([["no", "idea"], json_reply(7), json_reply(6)])

    def next_reply(done: int, total: int) -> None:
        judge.words = next(replies, json_reply(5))

    run = app.scores.judge(study_id, spec(judges, "judge:7b"), on_progress=next_reply)
    assert (run.asked, run.scored, run.unscored) == (4, 3, 1)
    assert run.mostly_failed is False
    [shown] = run.failed_replies
    assert shown.reply == "no idea" and shown.status == JUDGE_UNPARSED
    # Two of four is not more than half; three of four is.
    assert JudgeRun(1, "j", "reference", 4, 0, 2, scored=2, unscored=2).mostly_failed is False
    assert JudgeRun(1, "j", "reference", 4, 0, 3, scored=1, unscored=3).mostly_failed is True
    assert JudgeRun(1, "j", "reference", 0, 0, 0).mostly_failed is False  # nothing judged


def test_study_score_prints_a_failed_reply_with_its_control_characters_escaped(
    study: tuple[Lineup, int], judges: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    _, study_id = study
    # Model output is hostile: a terminal escape that would retitle the window and recolour.
    judges.models["garbage:7b"].words = ["\x1b]0;pwned\x07\x1b[31mred", "line\nnext"]
    capsys.readouterr()
    assert main(["study", "score", str(study_id), "--judge", spec(judges, "garbage:7b")]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;pwned\\x07\\x1b[31mred line" in err
    assert "next" in err


def test_study_score_refuses_judge_limits_without_a_judge(
    study: tuple[Lineup, int], judges: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    app, study_id = study
    capsys.readouterr()
    argv = ["study", "score", str(study_id), "--reference-model", spec(judges, "judge:7b")]
    assert main([*argv, "--judge-timeout", "30"]) == 2
    assert "--judge-timeout set the judge's limits; give the judge with --judge" in (
        capsys.readouterr().err
    )
    assert app.scores.reference_of(study_id) is None and judges.chat_requests() == []


def test_the_judges_requests_are_counted_in_flight_beside_the_answers(
    study: tuple[Lineup, int],
) -> None:
    """A judge asked while models answer on the same host slows them: its requests are in the
    process's in-flight registry (lineup.run.contention) while they stream, and only then."""
    app, study_id = study
    seen: list[int] = []

    def reply(body: dict[str, Any]) -> list[str]:
        seen.append(IN_FLIGHT.in_flight(THIS_MACHINE))  # the server is a thread of this process
        return json_reply(8)

    with OllamaFixture([FakeModel("judge:7b", [], reply=reply)]) as judge:
        app.scores.judge(study_id, spec(judge, "judge:7b"))
    assert seen == [1, 1, 1, 1]  # one request at a time, each counted while it ran
    assert IN_FLIGHT.in_flight() == 0

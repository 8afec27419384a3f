"""A study's reference model (a study of its own, shown apart, never ranked), the items'
references it supplies, the judge's pairwise protocol (both orders, anonymised), the study's
own judge template and the judge running in the background.

The models and judges are Ollama models served by testbed/ollama_server.py (a loopback
fixture that speaks Ollama's documented protocol; no Ollama server can run here). The judges
have a fixture of their own, so its chat requests are the judges' alone."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lineup.app.facade import Lineup
from lineup.app.part import INPUT_ERRORS
from lineup.cli.main import main
from lineup.core.limits import InputError
from lineup.core.markup import escape_markdown
from lineup.score.judge_ask import STOPPED
from lineup.score.judge_prompt import PAIRWISE_TEMPLATE, JudgeReplyError, parse_pair_reply
from lineup.store.tables import (
    JUDGE_FAILED,
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    Generation,
    JudgeScore,
    SetItemRow,
    Study,
)
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import write_judge_set

ALPHA, BETA, REF = "alphavlm:1b", "betavlm:1b", "refvlm:9b"


@pytest.fixture()
def models() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel(ALPHA, ["Seven", "apples."]),
            FakeModel(BETA, ["Some", "cats."]),
            FakeModel(REF, ["Some", "cats."]),
        ]
    ) as fixture:
        yield fixture


def pair_reply(first: int, second: int) -> list[str]:
    return ['{"score_1": ', f"{first}, ", '"score_2": ', f"{second}, ", '"reasons": "looked"}']


def fair_reply(chat: dict) -> list[str]:
    prompt = chat["messages"][-1]["content"]
    first = prompt.split("Answer 1:\n")[1].split("\n")[0]
    second = prompt.split("Answer 2:\n")[1].split("\n")[0]
    return pair_reply(*(9 if answer == "Seven apples." else 3 for answer in (first, second)))


@pytest.fixture()
def judges() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            # Always prefers whatever is shown first: the reason both orders are asked.
            FakeModel("biased:7b", pair_reply(8, 4)),
            # The case: 8 to "Answer 1", 6 to "Answer 2", whatever they say.
            FakeModel("fixed:7b", pair_reply(8, 6)),
            # Reads the answers, never their order: 9 to "Seven apples.", 3 to anything else.
            FakeModel("fair:7b", [], reply=fair_reply),
            FakeModel("garbage:7b", ["No", "opinion."]),
            FakeModel("slow:7b", pair_reply(5, 5), first_delay_s=30.0),
        ]
    ) as fixture:
        yield fixture


def spec(fixture: OllamaFixture, name: str) -> str:
    return f"ollama:{name}@{fixture.base_url}"


@pytest.fixture()
def study(lineup_home: Path, tmp_path: Path, models: OllamaFixture) -> tuple[Lineup, int]:
    """A finished study of 3 items (the second without a reference) x alpha and beta."""
    app = Lineup.open()
    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    state = app.studies.start(
        set_name="fruit",
        models=[spec(models, ALPHA), spec(models, BETA)],
        system="Answer briefly.",
        temperature=0.3,
    ).wait()
    assert state.status == "done" and state.errors == 0
    return app, state.study_id


@pytest.fixture()
def referenced(study: tuple[Lineup, int], models: OllamaFixture) -> tuple[Lineup, int, int]:
    app, study_id = study
    state = app.scores.start_reference(study_id, spec(models, REF)).wait()
    assert state.status == "done" and state.errors == 0
    return app, study_id, state.study_id


def chats_of(fixture: OllamaFixture, model: str) -> list[dict]:
    return [chat for chat in fixture.chat_requests() if chat["model"] == model]


def test_the_reference_model_is_a_study_of_its_own_shown_apart_and_never_ranked(
    referenced: tuple[Lineup, int, int], models: OllamaFixture
) -> None:
    app, study_id, reference_id = referenced
    reference = app.studies.get(reference_id)
    assert reference is not None
    assert reference.reference_for == study_id
    assert reference.models == (spec(models, REF),) and reference.repeats == 1
    assert app.scores.reference_of(study_id) == reference
    # One answer per item, asked with the study's own parameters.
    asked = chats_of(models, REF)
    assert len(asked) == 3
    for chat in asked:
        assert chat["messages"][0] == {"role": "system", "content": "Answer briefly."}
        assert chat["options"]["temperature"] == 0.3

    summary = app.studies.summary(study_id)
    assert [row["model"] for row in summary["models"]] == [spec(models, ALPHA), spec(models, BETA)]
    assert summary["reference"] == {
        "model": spec(models, REF),
        "study_id": reference_id,
        "status": "done",
        "ok": 3,
        "errors": 0,
        "items_referenced": 1,  # the item the set gives no reference
    }
    assert summary["done"] == summary["total"] == 6
    queue = app.labels.queue(study_id, "ana")
    item = app.labels.queue_item(study_id, queue.entries[0].item_id, "ana")
    assert len(item.answers) == 2


def test_overlap_takes_the_reference_models_answer_where_the_set_has_none(
    study: tuple[Lineup, int], models: OllamaFixture
) -> None:
    app, study_id = study
    before = {row["model"]: row for row in app.studies.summary(study_id)["models"]}
    assert {row["with_reference"] for row in before.values()} == {2}
    assert app.scores.start_reference(study_id, spec(models, REF)).wait().status == "done"
    after = {row["model"]: row for row in app.studies.summary(study_id)["models"]}
    # ROUGE-1 F1 worked by hand. Alpha says "Seven apples." and beta "Some cats." to every
    # item; the references: "Three red apples." (set), "Some cats." (reference model), "Two
    # cats." (set).
    alpha = [2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3), 0.0, 0.0]
    beta = [0.0, 1.0, 0.5]
    assert after[spec(models, ALPHA)]["with_reference"] == 3
    assert after[spec(models, ALPHA)]["rouge1_f1"] == pytest.approx(statistics.mean(alpha))
    assert after[spec(models, BETA)]["rouge1_f1"] == pytest.approx(statistics.mean(beta))


def test_one_reference_model_per_study_and_naming_it_again_resumes_it(
    referenced: tuple[Lineup, int, int], models: OllamaFixture
) -> None:
    app, study_id, reference_id = referenced
    with pytest.raises(InputError, match="one reference model"):
        app.scores.start_reference(study_id, spec(models, ALPHA))
    again = app.scores.start_reference(study_id, spec(models, REF)).wait()
    assert again.study_id == reference_id and again.status == "done"
    assert len(chats_of(models, REF)) == 3  # nothing asked twice
    with pytest.raises(InputError, match="reference model of study"):
        app.scores.start_reference(reference_id, spec(models, REF))
    with app.store.session() as session:
        assert session.scalar(select(Study.id).where(Study.reference_for == study_id)) == (
            reference_id
        )


def test_the_pairwise_judge_sees_both_orders_anonymised_and_scores_candidate_over_reference(
    referenced: tuple[Lineup, int, int], models: OllamaFixture, judges: OllamaFixture
) -> None:
    app, study_id, reference_id = referenced
    judge = spec(judges, "biased:7b")
    run = app.scores.judge(study_id, judge, protocol="pairwise")
    assert (run.asked, run.cached, run.failed, run.skipped) == (12, 0, 0, 0)
    chats = judges.chat_requests()
    assert len(chats) == 12
    for chat in chats:
        sent = json.dumps(chat)
        for name in ("alphavlm", "betavlm", "refvlm", "ollama:"):
            assert name not in sent
    with app.store.session() as session:
        answers = {
            g.id: g
            for g in session.scalars(
                select(Generation).where(Generation.study_id.in_([study_id, reference_id]))
            )
        }
        rows = list(session.scalars(select(JudgeScore).order_by(JudgeScore.id)))
        questions = dict(session.execute(select(SetItemRow.id, SetItemRow.text)).all())
    prompts = {row.request["messages"][0]["content"]: row for row in rows}
    # Beta's answer is the reference's word for word, so its two orders read the same: still
    # two rows, one per position.
    assert len(prompts) == 9
    assert len({(row.generation_id, row.position) for row in rows}) == 12
    for row in rows:
        mine = answers[row.generation_id]
        theirs = answers[row.reference_id]
        assert theirs.study_id == reference_id and theirs.item_id == mine.item_id
        first, second = (mine, theirs) if row.position == 1 else (theirs, mine)
        assert row.request["messages"][0]["content"] == PAIRWISE_TEMPLATE.replace(
            "{question}", questions[mine.item_id]
        ).replace("{answer_1}", first.output_text).replace("{answer_2}", second.output_text)
        # The judge gave 8 to whatever came first and 4 to the second.
        assert (row.score, row.reference_score) == ((8, 4) if row.position == 1 else (4, 8))
    assert sorted(row.position for row in rows) == [1] * 6 + [2] * 6
    # Per answer: (8 + 4) / (4 + 8) = 1: a judge that only looks at the order gives every
    # answer the reference's figure. Three items are below the item bootstrap's floor of 5
    # (and every answer the same): no interval, never a zero-width one.
    summary = app.studies.summary(study_id)
    assert summary["judge"] == {"spec": judge, "protocol": "pairwise"}
    for row in summary["models"]:
        assert row["judge_score"] == pytest.approx(1.0)
        assert (row["judge_score_ci_low"], row["judge_score_ci_high"]) == (None, None)
        assert row["judge_score_ci_reason"] == "fewer than 5 items (3): no interval"
        assert (row["judged"], row["judge_failures"]) == (3, 0)

    again = app.scores.judge(study_id, judge, protocol="pairwise")
    assert (again.asked, again.cached) == (0, 12)
    assert len(judges.chat_requests()) == 12


def test_an_unparsed_order_makes_the_answer_a_failure_never_a_zero(
    referenced: tuple[Lineup, int, int], judges: OllamaFixture
) -> None:
    app, study_id, _ = referenced
    judge = spec(judges, "biased:7b")
    app.scores.judge(study_id, judge, protocol="pairwise")
    with app.store.session() as session:
        victim = session.scalars(
            select(JudgeScore).where(JudgeScore.position == 2).order_by(JudgeScore.id)
        ).first()
        assert victim is not None
        session.execute(
            update(JudgeScore)
            .where(JudgeScore.id == victim.id)
            .values(status=JUDGE_UNPARSED, score=None, reference_score=None, error="no score")
        )
        model = session.get(Generation, victim.generation_id).model_spec  # type: ignore[union-attr]
    figures = app.scores.judge_figures(study_id, judge, "pairwise")
    assert (figures[model]["judged"], figures[model]["judge_failures"]) == (2, 1)
    assert figures[model]["judge_score"] == pytest.approx(1.0)

    garbage = spec(judges, "garbage:7b")
    run = app.scores.judge(study_id, garbage, protocol="pairwise")
    assert (run.asked, run.failed) == (12, 12)
    with app.store.session() as session:
        statuses = set(
            session.scalars(select(JudgeScore.status).where(JudgeScore.judge_spec == garbage))
        )
    assert statuses == {JUDGE_UNPARSED}
    for row in app.scores.judge_figures(study_id, garbage, "pairwise").values():
        assert (row["judge_score"], row["judged"], row["judge_failures"]) == (None, 0, 3)


def test_pairwise_needs_a_reference_model_and_bad_input_exits_2_with_nothing_asked(
    study: tuple[Lineup, int],
    judges: OllamaFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, study_id = study
    judge = spec(judges, "biased:7b")
    with pytest.raises(InputError, match="reference model"):
        app.scores.judge(study_id, judge, protocol="pairwise")
    assert (
        main(["study", "score", str(study_id), "--judge", judge, "--judge-protocol", "pairwise"])
        == 2
    )
    assert "--reference-model" in capsys.readouterr().err
    assert main(["study", "score", str(study_id)]) == 2
    assert "Give a judge" in capsys.readouterr().err
    assert main(["study", "score", "999", "--judge", judge]) == 2
    assert judges.chat_requests() == []
    with app.store.session() as session:
        assert session.scalar(select(JudgeScore.id)) is None
        assert session.scalar(select(Study.id).where(Study.reference_for.is_not(None))) is None


def test_study_score_runs_the_reference_model_then_the_pairwise_judge(
    study: tuple[Lineup, int],
    models: OllamaFixture,
    judges: OllamaFixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, study_id = study
    judge, reference = spec(judges, "biased:7b"), spec(models, REF)
    args = ["study", "score", str(study_id), "--reference-model", reference, "--judge", judge]
    capsys.readouterr()
    assert main([*args, "--judge-protocol", "pairwise", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["reference"]["model"] == reference and printed["reference"]["ok"] == 3
    assert (printed["protocol"], printed["asked"], printed["failed"]) == ("pairwise", 12, 0)
    # A bad template: exit 2 before anything runs or is saved.
    bad = tmp_path / "bad.txt"
    bad.write_text("Compare {answer_1} with {answer_2}.", encoding="utf-8")
    assert main([*args, "--judge-protocol", "pairwise", "--template-file", str(bad)]) == 2
    assert "{question}" in capsys.readouterr().err
    assert app.scores.template(study_id, "pairwise") == PAIRWISE_TEMPLATE
    assert len(judges.chat_requests()) == 12
    # study show prints the scores, the rankings, agreement and the reference model apart.
    assert main(["study", "show", str(study_id)]) == 0
    shown = capsys.readouterr().out
    speed = shown.split("\nspeed (complete answers)\n")[1].split("\n\n")[0]
    assert "judge_score" not in speed and "bt_rank" not in speed  # each figure in one table
    _, header, alpha, *_ = shown.split("\nscores (")[1].split("\n\n")[0].splitlines()
    assert alpha.split()[0] == spec(models, ALPHA)
    assert header.split()[4] == "judge_score" and alpha.split()[4] == "1"
    assert "agreement: Krippendorff's alpha - over 0 answers" in shown
    assert f"reference model (not ranked): {reference}, study " in shown
    # The study list says which study runs whose reference model.
    assert main(["study", "list", "--json"]) == 0
    listed = {row["id"]: row for row in json.loads(capsys.readouterr().out)["studies"]}
    reference_id = printed["reference"]["study_id"]
    assert listed[reference_id]["reference_for"] == study_id
    assert listed[study_id]["reference_for"] is None


def test_the_studys_own_template_is_kept_and_used_until_reset(
    study: tuple[Lineup, int], judges: OllamaFixture, tmp_path: Path
) -> None:
    app, study_id = study
    judge = spec(judges, "biased:7b")
    with pytest.raises(InputError, match=r"\{reference\}"):
        app.scores.set_template(study_id, "reference", "Grade {answer} for {question}.")
    template = "Strict. {question} | {reference} | {answer} | Score: 1-10"
    app.scores.set_template(study_id, "reference", template)
    assert app.scores.template(study_id, "reference") == template
    app.scores.judge(study_id, judge)  # its replies have no "score": unparsed, but asked
    prompts = [chat["messages"][-1]["content"] for chat in judges.chat_requests()]
    assert prompts and all(p.startswith("Strict. ") for p in prompts)
    app.scores.set_template(study_id, "reference", None)
    assert app.scores.template(study_id, "reference").startswith("You are grading")


def test_the_judge_in_the_background_reports_progress_and_stops_at_once(
    referenced: tuple[Lineup, int, int], judges: OllamaFixture
) -> None:
    app, study_id, _ = referenced
    job = app.scores.start_judging(study_id, spec(judges, "biased:7b"), "pairwise")
    assert app.scores.start_judging(study_id, spec(judges, "biased:7b"), "pairwise") is job
    ended = job.wait(60)
    assert not ended.running and ended.error is None
    assert (ended.done, ended.total) == (12, 12)
    assert ended.run is not None and ended.run.asked == 12
    assert app.scores.judging(study_id) is job

    slow = spec(judges, "slow:7b")
    job = app.scores.start_judging(study_id, slow, "pairwise")
    deadline = time.monotonic() + 20
    while not any(chat["model"] == "slow:7b" for chat in judges.chat_requests()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    job.stop()
    stopped = job.wait(20)
    assert not stopped.running and stopped.stopped
    assert time.monotonic() - started < 10  # the 30 s reply was not waited for
    with app.store.session() as session:
        rows = list(session.scalars(select(JudgeScore).where(JudgeScore.judge_spec == slow)))
    assert [(row.status, row.error) for row in rows] == [(JUDGE_FAILED, STOPPED)]
    assert JUDGE_SCORED not in {row.status for row in rows}


def test_a_bad_background_judge_is_refused_before_it_starts(
    study: tuple[Lineup, int], judges: OllamaFixture
) -> None:
    app, study_id = study
    with pytest.raises(InputError):
        app.scores.start_judging(study_id, spec(judges, "biased:7b"), "pairwise")  # no reference
    with pytest.raises(INPUT_ERRORS):
        app.scores.start_judging(study_id, "nosuchkind:model", "reference")
    assert app.scores.judging(study_id) is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score_1": 7, "score_2": 3, "reasons": "the first reads the error"}', (7, 3)),
        ('Sure.\n```json\n{"score_2": "4", "score_1": 9.5, "reasons": "x"}\n```', (9.5, 4)),
        (
            "Answer 1 names the code.\nScore 1: 6/10\nScore 2: 8\nReasons: the second is right",
            (6, 8),
        ),
        ("**Score 1**: 2\n**Score 2**: 10", (2, 10)),
    ],
)
def test_parse_pair_reply_finds_both_scores(reply: str, expected: tuple[float, float]) -> None:
    first, second, _ = parse_pair_reply(reply)
    assert (first, second) == expected


@pytest.mark.parametrize(
    "reply",
    [
        '{"score": 7, "reasons": "one score only"}',
        "Score 1: 7",
        '{"score_1": 0, "score_2": 5}',
        '{"score_1": 11, "score_2": 5}',
        '{"score_1": true, "score_2": 5}',
        "I prefer the first.",
    ],
)
def test_parse_pair_reply_refuses_a_reply_without_both_scores(reply: str) -> None:
    with pytest.raises(JudgeReplyError):
        parse_pair_reply(reply)


def test_the_report_shows_the_reference_model_apart_and_says_the_judges_protocol(
    referenced: tuple[Lineup, int, int],
    models: OllamaFixture,
    judges: OllamaFixture,
    tmp_path: Path,
) -> None:
    app, study_id, reference_id = referenced
    # First a reference-protocol run whose replies (pairwise JSON) hold no "score": failures.
    app.scores.judge(study_id, spec(judges, "biased:7b"))
    app.scores.judge(study_id, spec(judges, "biased:7b"), protocol="pairwise")
    (markdown,) = app.studies.report(study_id, "md", tmp_path / "report.md")
    text = markdown.read_text(encoding="utf-8")
    # Every judge that ran, the latest first: per model its figure, scored and failures (the
    # judges' table, before the judge's reliability).
    text = text.split("## The judge's reliability")[0]
    # Specs are escaped in the Markdown (lineup.markup.escape_markdown).
    judge = escape_markdown(spec(judges, "biased:7b"))
    judged = [line for line in text.splitlines() if line.startswith(f"| {judge} |")]
    assert [line.split(" | ")[1:3] for line in judged] == [
        ["pairwise", escape_markdown(spec(models, ALPHA))],
        ["pairwise", escape_markdown(spec(models, BETA))],
        ["reference", escape_markdown(spec(models, ALPHA))],
        ["reference", escape_markdown(spec(models, BETA))],
    ]
    assert [line.split(" | ")[3] for line in judged] == ["1", "1", "–", "–"]
    assert [line.rstrip(" |").split(" | ")[-2:] for line in judged] == [
        ["3", "0"],
        ["3", "0"],
        ["0", "3"],
        ["0", "3"],
    ]
    reference = escape_markdown(spec(models, REF))
    assert f"Reference model (shown apart, never ranked): {reference}, study " in text
    assert f"{reference_id} (done), 3 answers, 0 failed" in text
    assert f"Judge: {judge}, protocol pairwise" in text
    (html,) = app.studies.report(study_id, "html", tmp_path / "report.html")
    page = html.read_text(encoding="utf-8")
    # One reference card per item, apart from the answers; the reference's source said.
    assert page.count('class="answer reference"') == 3
    assert page.count("(the set&#39;s)") == 2
    assert page.count("(the reference model&#39;s answer)") == 1
    # Both judges' verdicts beside each answer, named by protocol.
    assert page.count("pairwise: 8/10 against the reference model&#39;s 4/10") == 0
    assert page.count("against the reference model&#39;s") == 6
    assert page.count("reference: no score") == 6


def test_a_judge_with_a_fixed_8_vs_6_position_bias_gives_1_and_is_reported(
    referenced: tuple[Lineup, int, int],
    judges: OllamaFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    app, study_id, _ = referenced
    judge = spec(judges, "fixed:7b")
    assert app.scores.judge(study_id, judge, protocol="pairwise").failed == 0
    assert main(["study", "show", str(study_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    # Each of the 6 answers: candidate 8 then 6, reference 6 then 8: (8 + 6) / (6 + 8) = 1.
    assert [row["judge_score"] for row in shown["models"]] == [1.0, 1.0]
    (reliability,) = shown["judge_reliability"]
    # 6 pairs, 12 verdicts: the answer shown first won all 12; every pair flipped.
    assert reliability | {"models": None, "disputed_answers": None} == {
        "judge": judge,
        "protocol": "pairwise",
        "pairs": 6,
        "first_wins": 12,
        "second_wins": 0,
        "ties": 0,
        "first_position_win_rate": 1.0,
        "flips": 6,
        "flip_rate": 1.0,
        "disputed": 6,
        "flipped": 6,
        "disagreed": 0,
        "models": None,
        "disputed_answers": None,
    }
    assert sorted(row["item"] for row in reliability["disputed_answers"]) == [1, 1, 2, 2, 3, 3]
    assert all(row["flipped"] for row in reliability["disputed_answers"])
    # The text, the Markdown and the HTML report say it.
    assert main(["study", "show", str(study_id)]) == 0
    text = capsys.readouterr().out
    assert f"judge reliability: {judge} (pairwise)" in text
    assert "first-position win rate 100% (12 of 12 decided verdicts, 0 ties apart)" in text
    assert "flip rate 100% (6 of 6 answers judged in both orders)" in text
    assert "disputed answers: 6 (6 flipped, 0 against a person's label)" in text
    (markdown,) = app.studies.report(study_id, "md", tmp_path / "report.md")
    written = markdown.read_text(encoding="utf-8")
    assert "## The judge's reliability" in written
    row = next(
        line
        for line in written.splitlines()
        if line.startswith(f"| {escape_markdown(judge)} | pairwise | 6 |")
    )
    assert row.split(" | ")[3:9] == [
        escape_markdown("100% (12 of 12)"),
        "0",
        escape_markdown("100% (6 of 6)"),
        "6",
        "6",
        "0 |",
    ]
    (html,) = app.studies.report(study_id, "html", tmp_path / "report.html")
    page = html.read_text(encoding="utf-8")
    assert '<h2 id="judge-reliability">' in page and "100% (12 of 12)" in page
    assert "First-position win rate: over the pairs" in page  # the methods quote the docstring


def test_a_fair_judge_never_flips_and_its_disputes_walk_the_label_queue(
    referenced: tuple[Lineup, int, int],
    models: OllamaFixture,
    judges: OllamaFixture,
) -> None:
    app, study_id, _ = referenced
    judge = spec(judges, "fair:7b")
    assert app.scores.judge(study_id, judge, protocol="pairwise").failed == 0
    summary = app.studies.summary(study_id)
    by_model = {row["model"]: row for row in summary["models"]}
    # Alpha ("Seven apples.") 9 against the reference's ("Some cats.") 3 in both orders:
    # (9 + 9) / (3 + 3) = 3; beta says what the reference says: 3 against 3, figure 1.
    assert by_model[spec(models, ALPHA)]["judge_score"] == pytest.approx(3.0)
    assert by_model[spec(models, BETA)]["judge_score"] == pytest.approx(1.0)
    (reliability,) = summary["judge_reliability"]
    # Alpha's 3 pairs: the candidate won shown first (3 firsts) and shown second (3
    # seconds); beta's 3 pairs are ties both times (6 ties). No flip.
    assert (
        reliability["pairs"],
        reliability["first_wins"],
        reliability["second_wins"],
        reliability["ties"],
        reliability["flips"],
    ) == (6, 3, 3, 6, 0)
    assert reliability["first_position_win_rate"] == 0.5
    assert reliability["flip_rate"] == 0.0
    assert reliability["disputed"] == 0
    # ana calls an alpha answer irrelevant (the judge's 9 reads relevant: a dispute) and a
    # beta answer partial (its 3 reads irrelevant: one step, no dispute); bo calls another
    # beta answer relevant (3: a dispute).
    answers = {
        (row.model, row.item_id): row.id
        for row in app.studies.result(study_id).answers
        if row.status == "ok"
    }
    items = sorted({item for _, item in answers})
    alpha_1 = answers[(spec(models, ALPHA), items[0])]
    beta_1 = answers[(spec(models, BETA), items[0])]
    beta_3 = answers[(spec(models, BETA), items[2])]
    app.labels.add(alpha_1, "irrelevant", annotator="ana")
    app.labels.add(beta_1, "partial", annotator="ana")
    app.labels.add(beta_3, "relevant", annotator="bo")
    summary = app.studies.summary(study_id)
    (reliability,) = summary["judge_reliability"]
    assert [
        (row["generation_id"], row["item"], row["flipped"], row["disagreed_with"])
        for row in reliability["disputed_answers"]
    ] == [(alpha_1, 1, False, ["ana"]), (beta_3, 3, False, ["bo"])]
    assert [(row["model"], row["n"], row["disputed"]) for row in reliability["models"]] == [
        (spec(models, ALPHA), 1, 1),
        (spec(models, BETA), 2, 1),
    ]
    judged = summary["agreement"]["judge"]
    assert [(row["model"], row["n"]) for row in judged["models"]] == [
        (spec(models, ALPHA), 1),
        (spec(models, BETA), 2),
    ]
    # The queue's "Disputed" filter: the two items with a disputed answer, each showing it
    # alone.
    queue = app.labels.queue(study_id, "cy", disputed=True)
    assert [entry.number for entry in queue.entries] == [1, 3]
    assert queue.total == 2
    shown = app.labels.queue_item(study_id, 1, "cy", answers=queue.answers)
    assert shown is not None
    assert [answer.generation_id for answer in shown.answers] == [alpha_1]
    assert len(app.labels.queue_item(study_id, 1, "cy").answers) == 2

"""Two studies compared (lineup.report.comparison): the figures worked by hand, the interval
recomputed by a plain loop over seeded draws of the items, items matched across two sets,
the WER direction, and every refusal (with `study compare`'s exit 2 and message)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core import InputError
from lineup.store.database import Store
from lineup.store.tables import STUDY_DONE, Generation, JudgeScore, utcnow
from lineup.study.records import claim, create_study, finish_study, load_plan
from tests.builders import make_set

MODEL = "m:x"


def study(
    store: Store,
    set_id: int,
    answers: dict[tuple[int, int], tuple[str, list[str]]],
    *,
    models: tuple[str, ...] = (MODEL,),
    repeats: int = 1,
    wer: dict[tuple[int, int], float] | None = None,
) -> int:
    """A finished study of the set: per (item position, repeat) of each model, its text and
    its labels (one annotator each: a1, a2, ...); `wer` per (position, repeat) for voices."""
    study_id = create_study(store, set_id=set_id, models=list(models), repeats=repeats, params={})
    for item in load_plan(store, study_id).items:
        for position, model in enumerate(models):
            for repeat in range(repeats):
                key = (item.position, repeat)
                if key not in answers and wer is None:
                    continue
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                text, labels = answers.get(key, ("", []))
                fields: dict[str, Any] = {"output_text": text}
                if wer is not None:
                    # WER with the counts it is the ratio of, over 10 reference words.
                    errors = round(wer[key] * 10)
                    fields |= {"wer": errors / 10, "word_errors": errors, "reference_words": 10}
                store.finish_generation(gid, "ok", **fields)
                for n, relevance in enumerate(labels):
                    store.add_label(gid, relevance, annotator=f"a{n + 1}")
    finish_study(store, study_id, STUDY_DONE)
    return study_id


R, P, IRR = "relevant", "partial", "irrelevant"


@pytest.fixture()
def app(lineup_home: Path) -> Lineup:
    return Lineup.open()


def six_items(app: Lineup) -> int:
    rows = [(f"Question {n}?", f"alpha beta gamma delta {n}") for n in range(6)]
    return make_set(app.store, "six", "vlm", rows)


def test_relevance_difference_per_item_scores_and_regressions_worked_by_hand(app: Lineup) -> None:
    set_id = six_items(app)
    # Baseline, two repeats. Item scores (mean over answers of each answer's mean label):
    # item 0: answers 1 and 1 -> 1; item 1: 1 and 0 -> 0.5; item 2: answer (1 + 0.5)/2 = 0.75
    # and 0 -> 0.375; item 3: 0.5 and 0.5 -> 0.5; item 4: 0 and 1 -> 0.5; item 5: 1 and 1 -> 1.
    baseline = study(
        app.store,
        set_id,
        {
            (0, 0): ("a", [R]),
            (0, 1): ("a", [R]),
            (1, 0): ("a", [R]),
            (1, 1): ("a", [IRR]),
            (2, 0): ("a", [R, P]),
            (2, 1): ("a", [IRR]),
            (3, 0): ("a", [P]),
            (3, 1): ("a", [P]),
            (4, 0): ("a", [IRR]),
            (4, 1): ("a", [R]),
            (5, 0): ("a", [R]),
            (5, 1): ("a", [R]),
        },
        repeats=2,
    )
    # Candidate, one repeat: items 1, 0, 1, 0.5, 1, and item 5 answered but not labeled.
    candidate = study(
        app.store,
        set_id,
        {
            (0, 0): ("b", [R]),
            (1, 0): ("b", [IRR]),
            (2, 0): ("b", [R]),
            (3, 0): ("b", [P]),
            (4, 0): ("b", [R]),
            (5, 0): ("b", []),
        },
    )
    document = app.studies.compare(baseline, candidate)
    relevance = next(d for d in document["differences"] if d["figure"] == "relevance")
    base_scores = [1.0, 0.5, 0.375, 0.5, 0.5]  # items 0-4: the candidate has no score on 5
    cand_scores = [1.0, 0.0, 1.0, 0.5, 1.0]
    assert relevance["items"] == 5
    assert relevance["baseline"] == pytest.approx(2.875 / 5)
    assert relevance["candidate"] == pytest.approx(3.5 / 5)
    assert relevance["diff"] == pytest.approx(0.625 / 5)
    # The interval, by a plain loop: 1,000 draws of the 6 shared items (numpy's generator,
    # seed 0: the order the candidate's set gives them), each resample's paired difference
    # over the drawn items both have a score on.
    rng = np.random.default_rng(0)
    draws = rng.integers(0, 6, size=(1000, 6))
    deltas = []
    for draw in draws:
        kept = [i for i in draw if i < 5]
        if kept:
            deltas.append(
                sum(cand_scores[i] for i in kept) / len(kept)
                - sum(base_scores[i] for i in kept) / len(kept)
            )
    low, high = np.percentile(deltas, [2.5, 97.5])
    assert relevance["ci_low"] == pytest.approx(low) and relevance["ci_high"] == pytest.approx(high)
    better = sum(d > 1e-12 for d in deltas) + 0.5 * sum(abs(d) <= 1e-12 for d in deltas)
    assert relevance["share_candidate_better"] == pytest.approx(better / len(deltas))
    assert relevance["decided"] == (low > 0 or high < 0)
    assert relevance["method"] == "item-bootstrap"

    per_item = {
        (row["item"], row["figure"]): row
        for row in document["per_item"]
        if row["figure"] == "relevance"
    }
    ids = [item.item_id for item in load_plan(app.store, candidate).items]
    assert [per_item[(ids[i], "relevance")]["baseline"] for i in range(5)] == base_scores
    assert [per_item[(ids[i], "relevance")]["candidate"] for i in range(5)] == cand_scores
    assert (ids[5], "relevance") not in per_item
    # Regressions: item 1 only (0.5 -> 0); improvements: item 2 (+0.625), then item 4 (+0.5).
    regressions = [r for r in document["regressions"] if r["figure"] == "relevance"]
    assert [(r["item"], r["baseline"], r["candidate"]) for r in regressions] == [(ids[1], 0.5, 0.0)]
    improvements = [r for r in document["improvements"] if r["figure"] == "relevance"]
    assert [(r["item"], r["change"]) for r in improvements] == [
        (ids[2], 0.625),
        (ids[4], 0.5),
    ]
    assert regressions[0]["question"] == "Question 1?" and regressions[0]["model"] == MODEL


def test_overlap_per_item_is_the_mean_over_repeats_and_only_drops_are_regressions(
    app: Lineup,
) -> None:
    set_id = six_items(app)

    # ROUGE-1 F1 against "alpha beta gamma delta N" (5 tokens), worked by hand:
    # "alpha beta gamma delta N" -> 1; "alpha beta" -> P 1, R 2/5: F1 = 2*0.4/1.4 = 4/7;
    # "zeta" -> 0.
    def ref(n: int) -> str:
        return f"alpha beta gamma delta {n}"

    baseline = study(
        app.store,
        set_id,
        {(n, r): (ref(n) if n < 3 else "alpha beta", []) for n in range(6) for r in range(2)},
        repeats=2,
    )
    candidate = study(
        app.store,
        set_id,
        {
            (0, 0): (ref(0), []),
            (1, 0): ("alpha beta", []),  # 1 -> 4/7: a regression
            (2, 0): ("zeta", []),  # 1 -> 0: the worst
            (3, 0): ("alpha beta", []),  # 4/7 -> 4/7: neither
            (4, 0): (ref(4), []),  # 4/7 -> 1: an improvement
            (5, 0): ("alpha beta", []),
        },
    )
    document = app.studies.compare(baseline, candidate)
    rouge = next(d for d in document["differences"] if d["figure"] == "rouge1_f1")
    f = 4 / 7
    assert rouge["baseline"] == pytest.approx((3 + 3 * f) / 6)
    assert rouge["candidate"] == pytest.approx((1 + f + 0 + f + 1 + f) / 6)
    # Per item: 0, f - 1, -1, 0, 1 - f, 0: the sum is -1.
    assert rouge["diff"] == pytest.approx(-1 / 6)
    ids = [item.item_id for item in load_plan(app.store, candidate).items]
    rouge_drops = [
        (r["item"], r["change"]) for r in document["regressions"] if r["figure"] == "rouge1_f1"
    ]
    assert rouge_drops == [(ids[2], pytest.approx(-1.0)), (ids[1], pytest.approx(f - 1))]
    rouge_gains = [r["item"] for r in document["improvements"] if r["figure"] == "rouge1_f1"]
    assert rouge_gains == [ids[4]]
    # No label and no judge: only the overlap figures.
    assert {d["figure"] for d in document["differences"]} == {"rouge1_f1", "rougeL_f1", "chrf"}
    assert document["judge"] is None


def test_items_of_two_sets_are_matched_by_content_in_order(app: Lineup) -> None:
    a = make_set(app.store, "a", "vlm", [("A?", None), ("B?", None), ("C?", None), ("A?", None)])
    b = make_set(app.store, "b", "vlm", [("C?", None), ("A?", None), ("D?", None), ("A?", None)])
    labels = {(n, 0): ("x", [R]) for n in range(4)}
    baseline = study(app.store, a, labels)
    candidate = study(app.store, b, {**labels, (0, 0): ("x", [IRR])})
    document = app.studies.compare(baseline, candidate)
    assert document["items"] == {
        "shared": 3,
        "baseline_only": 1,
        "candidate_only": 1,
        "matched_by": "content (question and image, or sentence)",
    }
    base_ids = [item.item_id for item in load_plan(app.store, baseline).items]
    cand_ids = [item.item_id for item in load_plan(app.store, candidate).items]
    pairs = {(r["baseline_item"], r["item"]) for r in document["per_item"]}
    # C with C; the first A with the first A, the second with the second.
    assert pairs == {
        (base_ids[2], cand_ids[0]),
        (base_ids[0], cand_ids[1]),
        (base_ids[3], cand_ids[3]),
    }
    [regression] = document["regressions"]
    assert (regression["baseline_item"], regression["item"]) == (base_ids[2], cand_ids[0])


def test_a_lower_wer_is_better_and_one_model_each_is_matched(app: Lineup) -> None:
    sentences = [(f"Sentence {n}.", None) for n in range(5)]
    set_id = make_set(app.store, "voices", "tts", sentences)
    wer_before = {(n, 0): 0.2 + 0.1 * n for n in range(5)}
    wer_after = {(n, 0): 0.1 * n for n in range(5)}
    wer_after[(0, 0)] = 0.5  # item 0 worse: 0.2 -> 0.5
    baseline = study(app.store, set_id, {}, models=("v:old",), wer=wer_before)
    candidate = study(app.store, set_id, {}, models=("v:new",), wer=wer_after)
    document = app.studies.compare(baseline, candidate)
    assert [(m["baseline_model"], m["model"]) for m in document["models"]] == [("v:old", "v:new")]
    [wer] = document["differences"]
    assert wer["figure"] == "wer"
    # Baseline mean 0.4; candidate (0.5 + 0.1 + 0.2 + 0.3 + 0.4) / 5 = 0.3.
    assert wer["baseline"] == pytest.approx(0.4) and wer["candidate"] == pytest.approx(0.3)
    assert wer["diff"] == pytest.approx(-0.1)
    # Candidate better (lower) on 4 of 5 items by 0.2, worse on one by 0.3: a resample is
    # better unless it draws item 0 often enough; the share counts lower WER as better.
    assert wer["share_candidate_better"] > 0.5
    [regression] = document["regressions"]
    assert regression["change"] == pytest.approx(0.3) and regression["baseline"] == pytest.approx(
        0.2
    )
    assert len(document["improvements"]) == 4


def test_refusals_say_what_to_do_and_the_command_exits_2(
    app: Lineup, capsys: pytest.CaptureFixture[str]
) -> None:
    set_id = six_items(app)
    other = make_set(app.store, "other", "vlm", [("Elsewhere?", None)])
    voices = make_set(app.store, "voices", "tts", [("Question 0?", None)])
    one = study(app.store, set_id, {(0, 0): ("a", [])})
    two = study(app.store, set_id, {(0, 0): ("a", [])}, models=("m:y", "m:z"))
    apart = study(app.store, other, {(0, 0): ("a", [])})
    spoken = study(app.store, voices, {}, models=("v:a",), wer={(0, 0): 0.0})
    cases = [
        ((one, one), "itself"),
        ((one, spoken), "a VLM study and study"),
        ((one, apart), "share no item"),
        ((one, two), "--match BASELINE_MODEL=CANDIDATE_MODEL"),
        ((one, 999), "There is no study 999"),
    ]
    for (a, b), message in cases:
        with pytest.raises(InputError, match=message.replace("?", r"\?")):
            app.studies.compare(a, b)
        assert main(["study", "compare", str(a), str(b), "--json"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and message in err and "Traceback" not in err
    with pytest.raises(InputError, match="has no model 'm:q'"):
        app.studies.compare(one, two, {MODEL: "m:q"})
    # Named pairs compare two different models.
    document = app.studies.compare(one, two, {MODEL: "m:z"})
    assert [(m["baseline_model"], m["model"]) for m in document["models"]] == [(MODEL, "m:z")]
    assert main(["study", "compare", str(one), str(two), "--match", "nonsense"]) == 2
    assert "BASELINE_MODEL=CANDIDATE_MODEL" in capsys.readouterr().err


def test_the_command_prints_json_a_table_and_reports(
    app: Lineup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    set_id = six_items(app)
    baseline = study(app.store, set_id, {(n, 0): ("a", [R]) for n in range(6)})
    candidate = study(app.store, set_id, {(n, 0): ("a", [R if n else IRR]) for n in range(6)})
    assert main(["study", "compare", str(baseline), str(candidate), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {
        "baseline",
        "candidate",
        "items",
        "judge",
        "models",
        "differences",
        "per_item",
        "regressions",
        "improvements",
    }
    assert main(["study", "compare", str(baseline), str(candidate)]) == 0
    text = capsys.readouterr().out
    assert "regressions: 1 item scores worse" in text and "Question 0?" in text
    for fmt in ("html", "md"):
        assert (
            main(
                [
                    "study",
                    "compare",
                    str(baseline),
                    str(candidate),
                    "--format",
                    fmt,
                    "--out",
                    str(tmp_path),
                ]
            )
            == 0
        )
        path = Path(capsys.readouterr().out.strip())
        assert path == tmp_path / f"compare-{baseline}-{candidate}.{fmt}"
        body = path.read_text(encoding="utf-8")
        assert "Question 0" in body and "item-bootstrap" in body
    assert main(["study", "compare", str(baseline), str(candidate), "--format", "md"]) == 2
    assert "--out" in capsys.readouterr().err


def test_questions_and_models_are_escaped_in_the_reports(app: Lineup) -> None:
    set_id = make_set(app.store, "x", "vlm", [(f"<b>Q{n}</b>|?", None) for n in range(5)])
    baseline = study(app.store, set_id, {(n, 0): ("a", [R]) for n in range(5)})
    candidate = study(app.store, set_id, {(n, 0): ("a", [IRR]) for n in range(5)})
    from lineup.report.comparison_report import comparison_html, comparison_markdown

    document = app.studies.compare(baseline, candidate)
    page = comparison_html(document)
    assert "<b>Q0</b>" not in page and "&lt;b&gt;Q0&lt;/b&gt;" in page
    markdown = comparison_markdown(document)
    assert "<b>" not in markdown.split("## Methods")[0]


def judged(store: Store, study_id: int, judge: str, scores: dict[int, float | None]) -> None:
    """A reference-protocol verdict of `judge` on the answer to each item position: its score,
    or None for an unparsed reply."""
    positions = {item.item_id: item.position for item in load_plan(store, study_id).items}
    with store.session() as session:
        for gid, item_id in session.execute(
            select(Generation.id, Generation.item_id).where(Generation.study_id == study_id)
        ).all():
            score = scores.get(positions[item_id], 0.0)
            session.add(
                JudgeScore(
                    study_id=study_id,
                    generation_id=gid,
                    judge_spec=judge,
                    protocol="reference",
                    prompt_hash="a" * 64,
                    position=0,
                    status="scored" if score is not None else "unparsed",
                    score=score,
                    finished_at=utcnow(),
                )
            )


def test_the_judge_figure_is_compared_when_one_judge_scored_both(app: Lineup) -> None:
    set_id = six_items(app)
    baseline = study(app.store, set_id, {(n, 0): ("a", []) for n in range(6)})
    candidate = study(app.store, set_id, {(n, 0): ("b", []) for n in range(6)})
    judged(app.store, baseline, "j:a", {n: 8.0 for n in range(6)})
    judged(app.store, baseline, "j:old", {n: 2.0 for n in range(6)})
    # The candidate's latest judge (j:b) never scored the baseline: j:a is the one compared.
    judged(app.store, candidate, "j:a", {0: 4.0, 1: 8.0, 2: 8.0, 3: 8.0, 4: 8.0, 5: None})
    judged(app.store, candidate, "j:b", {n: 10.0 for n in range(6)})
    document = app.studies.compare(baseline, candidate)
    assert document["judge"] == {"spec": "j:a", "protocol": "reference"}
    judge = next(d for d in document["differences"] if d["figure"] == "judge")
    # Figures score / 10 over the 5 items both have (item 5's verdict is unparsed):
    # baseline 0.8 each; candidate 0.4 then 0.8 x 4: (0.4 + 3.2) / 5 = 0.72.
    assert judge["items"] == 5
    assert judge["baseline"] == pytest.approx(0.8)
    assert judge["candidate"] == pytest.approx(0.72)
    assert judge["diff"] == pytest.approx(-0.08)
    [regression] = [r for r in document["regressions"] if r["figure"] == "judge"]
    assert regression["change"] == pytest.approx(-0.4) and regression["question"] == "Question 0?"

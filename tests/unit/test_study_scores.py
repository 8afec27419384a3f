"""A study's automatic scores per model: overlap with the items' references and the text
checks, over the study's complete answers only, in `study show --json`."""

from __future__ import annotations

import statistics

import pytest

from lineup.measure.overlap import rouge_n_f1
from lineup.report import study_summary
from lineup.score.automatic import study_scores
from lineup.store.database import Store
from lineup.store.tables import QuestionSet, SetItemRow
from lineup.study.records import claim, create_study, load_plan

REFERENCE_RU = "Оплата отклонена: недостаточно средств на карте."
REFERENCE_EN = "The card was declined for insufficient funds."
ITEMS = [
    ("Что написано в ошибке?", REFERENCE_RU, "ru"),
    ("What does the error say?", REFERENCE_EN, "en"),
    ("What is on the screen?", None, None),  # no reference, no language
]
# Per model, its answer to each item; None: the answer failed.
ANSWERS = {
    "m:copy": [REFERENCE_RU, REFERENCE_EN, "A login form."],
    "m:drift": [
        "The payment was declined because there is not enough money on the card.",
        "Card declined.",
        "",
    ],
    "m:broken": [None, "I can't help with that.", None],
}


def build(store: Store) -> int:
    question_set = QuestionSet(name="errors", kind="vlm", source="test")
    question_set.items = [
        SetItemRow(position=p, text=text, reference=reference, language=language, tags=[])
        for p, (text, reference, language) in enumerate(ITEMS)
    ]
    with store.session() as session:
        session.add(question_set)
        session.flush()
        set_id = question_set.id
    models = list(ANSWERS)
    study_id = create_study(store, set_id=set_id, models=models, repeats=1, params={"seed": 1})
    plan = load_plan(store, study_id)
    for position, model in enumerate(models):
        for item, answer in zip(plan.items, ANSWERS[model], strict=True):
            gid = claim(store, study_id, item, model, 0, position=position, seed=1)
            assert gid is not None
            if answer is None:
                store.finish_generation(gid, "error", error="boom", output_text="stray text")
            else:
                store.finish_generation(gid, "ok", output_text=answer, total_s=1.0)
    return study_id


def test_each_models_scores_come_from_its_complete_answers_and_their_items(
    store: Store,
) -> None:
    scores = study_scores(store, build(store))
    copy, drift, broken = scores["m:copy"], scores["m:drift"], scores["m:broken"]
    # The copy of each reference scores 1 on every overlap figure, over the 2 items with one.
    assert copy["with_reference"] == 2
    assert copy["rouge1_f1"] == copy["rougeL_f1"] == pytest.approx(1.0)
    assert copy["chrf"] == pytest.approx(1.0)
    assert copy["wrong_language"] == 0 and copy["language_checked"] == 2
    assert copy["latin_share"] == 0.0 and copy["other_script_chars"] == 0
    # English to a Russian item: no shared token, wrong language, every letter Latin.
    # Two items with a reference: below the item bootstrap's floor, no interval and why.
    assert drift["rouge1_f1_ci_low"] is None and drift["rouge1_f1_ci_high"] is None
    assert drift["rouge1_f1_ci_method"] == "item-bootstrap"
    assert drift["rouge1_f1_ci_reason"] == "fewer than 5 items (2): no interval"
    # "Card declined." against the English reference: tokens card, declined (2) against
    # the, card, was, declined, for, insufficient, funds (7): 2 shared; P 1, R 2/7.
    english = 2 * 1 * (2 / 7) / (1 + 2 / 7)
    assert drift["rouge1_f1"] == pytest.approx(statistics.mean([0.0, english]))
    assert drift["wrong_language"] == 1 and drift["latin_share"] == 1.0
    assert drift["empty"] == 1 and drift["refusals"] == 0
    # Failed answers count for nothing; the refusal is counted apart.
    assert broken["with_reference"] == 1 and broken["refusals"] == 1
    assert broken["rouge1_f1"] == pytest.approx(rouge_n_f1("I can't help with that.", REFERENCE_EN))


def test_study_show_json_carries_the_scores(store: Store) -> None:
    summary = study_summary(store, build(store))
    by_model = {m["model"]: m for m in summary["models"]}
    assert by_model["m:copy"]["chrf"] == pytest.approx(1.0)
    assert by_model["m:drift"]["wrong_language"] == 1

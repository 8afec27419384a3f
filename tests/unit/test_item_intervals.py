"""A study's item-bootstrap intervals of % relevant and the relevance score
(lineup.score.item_intervals), against the labels the test writes and a plain loop over numpy's
draws of the items."""

from __future__ import annotations

import numpy as np
import pytest

from lineup.core.limits import InputError
from lineup.report import study_summary, study_tables
from lineup.score.item_intervals import study_label_bootstraps
from lineup.store.database import Store
from lineup.study.records import claim, create_study, load_plan
from tests.builders import make_set

MODELS = ["m:a", "m:b"]
SCORE = {"relevant": 1.0, "partial": 0.5, "irrelevant": 0.0}
RELEVANCES = ["relevant", "partial", "irrelevant"]


def _labeled_study(store: Store, items: int) -> tuple[int, list[tuple[int, str, int, str, str]]]:
    """`items` items, two models, two repeats; ana labels every answer, bo every other one:
    cells with 2, 3 or 4 labels. Returns the study and (item, model, answer, annotator,
    relevance) of every label."""
    set_id = make_set(store, "boot", "vlm", [(f"Q{n}?", None) for n in range(items)])
    study_id = create_study(store, set_id=set_id, models=MODELS, repeats=2, params={})
    labels = []
    n = 0
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(MODELS):
            for repeat in range(2):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                store.finish_generation(gid, "ok", output_text=f"{model} {index} {repeat}")
                quality = position + (index % 3 == 0)
                labels.append(
                    (
                        item.item_id,
                        model,
                        gid,
                        "ana",
                        RELEVANCES[(quality + n) % 3 if n % 4 == 0 else quality % 3],
                    )
                )
                if n % 2 == 0:
                    labels.append((item.item_id, model, gid, "bo", RELEVANCES[(quality + 1) % 3]))
                n += 1
    for _, _, gid, who, relevance in labels:
        store.add_label(gid, relevance, annotator=who)
    return study_id, labels


def _by_loop(values: dict[int, float], items: list[int], index: np.ndarray) -> np.ndarray:
    out = []
    for row in index:
        scores = [values[items[i]] for i in row if items[i] in values]
        out.append(sum(scores) / len(scores))
    return np.array(out)


def test_a_studys_intervals_resample_its_items_with_their_labels(store: Store) -> None:
    study_id, labels = _labeled_study(store, 8)
    boots = study_label_bootstraps(store, study_id, resamples=300, seed=4)
    assert set(boots) == {"pct_relevant", "relevance"}
    pct, relevance = boots["pct_relevant"], boots["relevance"]
    assert pct.models == relevance.models == tuple(MODELS)
    assert pct.items == relevance.items and len(pct.items) == 8
    items = list(pct.items)
    index = np.random.default_rng(4).integers(0, 8, size=(300, 8))
    for j, model in enumerate(MODELS):
        mine = [label for label in labels if label[1] == model]
        # % relevant pooled: relevant labels over labels, in each resample over the drawn items.
        relevant = {i: sum(r == "relevant" for it, _, _, _, r in mine if it == i) for i in items}
        total = {i: sum(1 for it, *_ in mine if it == i) for i in items}
        figure = pct.intervals()[model]
        assert figure.value == pytest.approx(100 * sum(relevant.values()) / sum(total.values()))
        drawn = np.array(
            [
                100 * sum(relevant[items[i]] for i in row) / sum(total[items[i]] for i in row)
                for row in index
            ]
        )
        assert pct.resampled()[:, j] == pytest.approx(drawn)
        assert (figure.ci_low, figure.ci_high) == pytest.approx(
            tuple(np.percentile(drawn, [2.5, 97.5]))
        )
        assert figure.method == "item-bootstrap" and figure.items == 8
        # The relevance score: the mean over items of the mean over answers of each answer's
        # mean label.
        item_scores = {}
        for i in items:
            answers: dict[int, list[float]] = {}
            for it, _, gid, _, r in mine:
                if it == i:
                    answers.setdefault(gid, []).append(SCORE[r])
            item_scores[i] = float(np.mean([np.mean(v) for v in answers.values()]))
        score = relevance.intervals()[model]
        assert score.value == pytest.approx(np.mean(list(item_scores.values())))
        looped = _by_loop(item_scores, items, index)
        assert (score.ci_low, score.ci_high) == pytest.approx(
            tuple(np.percentile(looped, [2.5, 97.5]))
        )
    pair = relevance.difference("m:a", "m:b")
    assert pair.items == 8 and pair.diff is not None and pair.diff > 0


def test_one_annotators_labels_and_too_few_items(store: Store) -> None:
    study_id, labels = _labeled_study(store, 3)
    boots = study_label_bootstraps(store, study_id, annotator="bo")
    figure = boots["pct_relevant"].intervals()["m:a"]
    bo = [r for _, m, _, who, r in labels if m == "m:a" and who == "bo"]
    assert figure.value == pytest.approx(100 * bo.count("relevant") / len(bo))
    assert figure.ci_low is None and figure.items == 3
    assert "fewer than 5 items" in (figure.reason or "")
    with pytest.raises(InputError, match="no study 99"):
        study_label_bootstraps(store, 99)


def test_the_relevance_table_and_summary_carry_the_item_bootstrap_interval(store: Store) -> None:
    study_id, labels = _labeled_study(store, 8)
    boots = study_label_bootstraps(store, study_id)["pct_relevant"].intervals()
    rows = {r["model"]: r for r in study_tables(store, study_id).relevance.to_dict("records")}
    summary = {m["model"]: m for m in study_summary(store, study_id)["models"]}
    for model in MODELS:
        mine = [r for _, m, _, _, r in labels if m == model]
        for row in (rows[model], summary[model]):
            assert row["pct_relevant"] == pytest.approx(100 * mine.count("relevant") / len(mine))
            assert row["pct_relevant_ci_method"] == "item-bootstrap"
            assert row["pct_relevant_ci_low"] == pytest.approx(boots[model].ci_low)
            assert row["pct_relevant_ci_high"] == pytest.approx(boots[model].ci_high)
            assert row["pct_relevant_ci_low"] < row["pct_relevant"] < row["pct_relevant_ci_high"]

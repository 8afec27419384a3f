"""A study's item-bootstrap intervals of % relevant and the relevance score
(lineup.score.item_intervals), against the labels the test writes and a plain loop over numpy's
draws of the items."""

from __future__ import annotations

import numpy as np
import pytest

from lineup.core.limits import InputError
from lineup.measure import ITEM_RESAMPLES
from lineup.measure.item_bootstrap import drawn_counts
from lineup.report import load_study_result, study_summary, study_tables
from lineup.report.markdown_report import markdown_report, number
from lineup.score.item_intervals import study_label_bootstraps
from lineup.store import JUDGE_SCORED, JudgeScore
from lineup.store.database import Store
from lineup.store.tables import SetItemRow
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


# The study path: every interval study show --json and the outputs carry, against a plain loop
# over numpy's draws of the items (seed 0, ITEM_RESAMPLES), on per-answer values known by
# construction: an answer that is its item's reference scores 1 on ROUGE-1, ROUGE-L and chrF,
# one made of letters the reference lacks scores 0 on all three; the judge's figure is the
# score written / 10.
REFERENCE = "abc def"
OFF = "xyz"  # no letter of REFERENCE: no token, no character n-gram shared


def _scored_study(store: Store, items: int) -> tuple[int, list[tuple[int, str, int, float, float]]]:
    """`items` items with a reference, MODELS x 2 repeats, every answer complete; a judge's
    verdict on each. Returns the study and (item, model, answer, overlap, judge figure)."""
    set_id = make_set(store, "scored", "vlm", [(f"Q{n}?", REFERENCE) for n in range(items)])
    study_id = create_study(store, set_id=set_id, models=MODELS, repeats=2, params={})
    rows = []
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(MODELS):
            for repeat in range(2):
                gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
                assert gid is not None
                hit = (index + repeat + position * (index % 3)) % 3 != 0
                store.finish_generation(gid, "ok", output_text=REFERENCE if hit else OFF)
                score = 1 + (3 * index + 2 * repeat + 5 * position) % 10
                rows.append((item.item_id, model, gid, 1.0 if hit else 0.0, score / 10))
    with store.session() as session:
        for _, _, gid, _, figure in rows:
            session.add(
                JudgeScore(
                    study_id=study_id,
                    generation_id=gid,
                    judge_spec="judge:x",
                    protocol="reference",
                    prompt_hash="0" * 64,
                    status=JUDGE_SCORED,
                    score=round(figure * 10),
                )
            )
    return study_id, rows


def _pooled_loop(
    values: dict[int, list[float]], items: list[int], index: np.ndarray
) -> tuple[float, np.ndarray]:
    """A pooled mean over every value, and per resample over the values of the drawn items."""
    every = [v for i in items for v in values.get(i, [])]
    drawn = [[v for i in row for v in values.get(items[i], [])] for row in index]
    return sum(every) / len(every), np.array([sum(d) / len(d) for d in drawn])


def test_every_score_interval_of_a_study_resamples_its_items(store: Store) -> None:
    study_id, rows = _scored_study(store, 9)
    result = load_study_result(store, study_id)
    summary = {m["model"]: m for m in result.summary["models"]}
    assert {"rouge1_f1", "rougeL_f1", "chrf", "judge_score"} <= set(result.bootstraps)
    items = sorted({item for item, *_ in rows})
    assert list(result.bootstraps["chrf"].items) == items
    index = np.random.default_rng(0).integers(0, len(items), size=(ITEM_RESAMPLES, len(items)))
    for model in MODELS:
        for figure, column in (("rouge1_f1", 3), ("rougeL_f1", 3), ("chrf", 3), ("judge_score", 4)):
            values: dict[int, list[float]] = {}
            for row in rows:
                if row[1] == model:
                    values.setdefault(row[0], []).append(row[column])
            mean, drawn = _pooled_loop(values, items, index)
            shown = summary[model]
            assert shown[figure] == pytest.approx(mean), figure
            assert (shown[f"{figure}_ci_low"], shown[f"{figure}_ci_high"]) == pytest.approx(
                tuple(np.percentile(drawn, [2.5, 97.5]))
            ), figure
            assert shown[f"{figure}_ci_method"] == "item-bootstrap"
            assert shown[f"{figure}_ci_reason"] is None
    # The page's scores table and the reports show the same intervals.
    markdown = markdown_report(result)
    low = summary["m:a"]["chrf_ci_low"]
    assert f"| {number(low)} |" in markdown


def test_the_mean_relevance_score_is_shown_with_its_interval(store: Store) -> None:
    study_id, labels = _labeled_study(store, 8)
    boots = study_label_bootstraps(store, study_id)["relevance"].intervals()
    rows = {r["model"]: r for r in study_tables(store, study_id).relevance.to_dict("records")}
    summary = {m["model"]: m for m in study_summary(store, study_id)["models"]}
    for model in MODELS:
        for row in (rows[model], summary[model]):
            assert row["relevance"] == pytest.approx(boots[model].value)
            assert row["relevance_ci_low"] == pytest.approx(boots[model].ci_low)
            assert row["relevance_ci_high"] == pytest.approx(boots[model].ci_high)
            assert row["relevance_ci_method"] == "item-bootstrap"
            assert row["relevance_ci_low"] < row["relevance"] < row["relevance_ci_high"]


def test_a_new_label_moves_the_figures_at_once(store: Store) -> None:
    """Nothing is kept between two reads of a study: a label added shows in the next one."""
    study_id, _ = _labeled_study(store, 8)
    before = {m["model"]: m for m in study_summary(store, study_id)["models"]}["m:b"]
    answers = [a for a in load_study_result(store, study_id).answers if a.model == "m:b"]
    for answer in answers:
        store.add_label(answer.id, "relevant", annotator="cy")
    after = {m["model"]: m for m in study_summary(store, study_id)["models"]}["m:b"]
    assert after["labeled"] == before["labeled"] + len(answers)
    assert after["pct_relevant"] > before["pct_relevant"]
    assert after["relevance"] > before["relevance"]
    assert after["relevance_ci_low"] != before["relevance_ci_low"]


def test_what_a_process_keeps_is_keyed_by_what_it_depends_on(store: Store) -> None:
    """The draws are kept per (items, resamples, seed) and the overlaps per (answer, reference)
    texts: an edited reference is scored afresh at the next read, never shown stale."""
    assert drawn_counts(9, resamples=50, seed=1) is drawn_counts(9, resamples=50, seed=1)
    assert not drawn_counts(9, resamples=50, seed=1).flags.writeable
    study_id, rows = _scored_study(store, 6)
    before = {m["model"]: m for m in study_summary(store, study_id)["models"]}
    with store.session() as session:
        for item in session.query(SetItemRow).all():
            item.reference = OFF  # the answers that were the reference now share nothing
    after = {m["model"]: m for m in study_summary(store, study_id)["models"]}
    for model in MODELS:
        hits = [r[3] for r in rows if r[1] == model]
        assert before[model]["rouge1_f1"] == pytest.approx(sum(hits) / len(hits))
        assert after[model]["rouge1_f1"] == pytest.approx(1 - sum(hits) / len(hits))


def test_a_voice_studys_wer_and_cer_intervals_resample_its_sentences(store: Store) -> None:
    """Mean WER and CER of a voice study: the mean over scored clips, the sentences resampled
    with all their clips; a clip without a transcript is not scored."""
    voices = ["v:a", "v:b"]
    set_id = make_set(store, "said", "tts", [(f"Sentence number {n}.", None) for n in range(7)])
    study_id = create_study(store, set_id=set_id, models=voices, repeats=2, params={})
    clips: list[tuple[int, str, float, float]] = []  # (item, voice, wer, cer) of scored clips
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, voice in enumerate(voices):
            for repeat in range(2):
                gid = claim(store, study_id, item, voice, repeat, position=position, seed=None)
                assert gid is not None
                errors = (index * 5 + repeat * 3 + position * 2) % 4  # of 3 words
                wer = errors / 3
                cer = ((index * 3 + repeat + position) % 5) / 10
                heard = None if (index, repeat, voice) == (2, 1, "v:a") else "heard"
                store.finish_generation(
                    gid,
                    "ok",
                    transcript=heard,
                    wer=wer,
                    word_errors=errors,
                    reference_words=3,
                    cer=cer,
                    gen_s=0.1,
                    audio_s=1.0,
                )
                if heard is not None:
                    clips.append((item.item_id, voice, wer, cer))
    summary = {m["model"]: m for m in study_summary(store, study_id)["models"]}
    items = sorted({c[0] for c in clips})
    index = np.random.default_rng(0).integers(0, len(items), size=(ITEM_RESAMPLES, len(items)))
    for voice in voices:
        for figure, column in (("mean_wer", 2), ("cer", 3)):
            values: dict[int, list[float]] = {}
            for clip in clips:
                if clip[1] == voice:
                    values.setdefault(clip[0], []).append(clip[column])
            mean, drawn = _pooled_loop(values, items, index)
            shown = summary[voice]
            assert shown[figure] == pytest.approx(mean), (voice, figure)
            assert (shown[f"{figure}_ci_low"], shown[f"{figure}_ci_high"]) == pytest.approx(
                tuple(np.percentile(drawn, [2.5, 97.5]))
            ), (voice, figure)
            assert shown[f"{figure}_ci_method"] == "item-bootstrap"


def test_the_pairs_of_a_study_cover_its_scores_with_the_same_resamples(store: Store) -> None:
    """`pairs` of study show --json holds ROUGE, chrF and the judge beside the labels'
    figures; each difference and interval recomputed by a plain loop over numpy's draws."""
    study_id, rows = _scored_study(store, 9)
    result = load_study_result(store, study_id)
    pairs = {(p["figure"], p["a"], p["b"]): p for p in result.summary["pairs"]}
    assert {figure for figure, _, _ in pairs} == {"rouge1_f1", "rougeL_f1", "chrf", "judge_score"}
    items = sorted({item for item, *_ in rows})
    index = np.random.default_rng(0).integers(0, len(items), size=(ITEM_RESAMPLES, len(items)))
    for figure, column in (("rouge1_f1", 3), ("chrf", 3), ("judge_score", 4)):
        per_model = {}
        for model in MODELS:
            values: dict[int, list[float]] = {}
            for row in rows:
                if row[1] == model:
                    values.setdefault(row[0], []).append(row[column])
            per_model[model] = _pooled_loop(values, items, index)
        a, b = sorted(MODELS, key=lambda m: -per_model[m][0])
        pair = pairs[(figure, a, b)]
        deltas = per_model[a][1] - per_model[b][1]
        assert pair["diff"] == pytest.approx(per_model[a][0] - per_model[b][0]), figure
        assert pair["items"] == len(items)
        ties = np.isclose(deltas, 0, atol=1e-12)
        share = (np.count_nonzero(deltas[~ties] > 0) + 0.5 * np.count_nonzero(ties)) / len(deltas)
        assert pair["share_a_better"] == pytest.approx(share), figure
        if pair["ci_low"] is not None:
            assert (pair["ci_low"], pair["ci_high"]) == pytest.approx(
                tuple(np.percentile(deltas, [2.5, 97.5]))
            ), figure
            assert pair["decided"] == (pair["ci_low"] > 0), figure

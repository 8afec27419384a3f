"""The automatic scores, the ranking and the agreement of a study, on the Studies page and under
the leaderboard filtered to the study, headless with Streamlit's AppTest.

The study is built in the store (answers, two annotators' labels, an LLM judge's verdicts);
every figure shown is checked against plain Python (or scipy, scikit-learn and krippendorff
called directly) over the rows the test wrote."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score
from streamlit.testing.v1 import AppTest

from lineup.app import rank_note
from lineup.app.facade import Lineup
from lineup.app.studies import Studies
from lineup.core.settings import load_settings
from lineup.store.database import Store
from lineup.store.tables import (
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    JudgeScore,
    QuestionSet,
    SetItemRow,
    utcnow,
)
from lineup.study.records import claim, create_study, load_plan
from tests.builders import add_pair_verdicts
from tests.pages.helpers import studies_page, unescaped

LEADERBOARD = Path(__file__).resolve().parents[2] / "app_pages" / "leaderboard.py"
GOOD, TWIN, BAD = "ollama:good:1b", "ollama:twin:1b", "ollama:bad:1b"
MODELS = [GOOD, TWIN, BAD]
ITEMS = [
    ("What does it say?", "Payment declined.", "en"),
    ("Which button?", "Retry now.", "en"),
    ("Что в заголовке?", "Ошибка оплаты.", "ru"),
    ("Which step failed?", "The card check.", "en"),
]
VOICES = ["espeak:en-us", "espeak:en-gb"]
JUDGE = "ollama:judge:7b"
ORDINAL = {"irrelevant": 0, "partial": 1, "relevant": 2}
# Per model, its judge score of each item's answer (None: an unparsed reply).
JUDGE_SCORES = {GOOD: [9.0, 8.0, 10.0, 9.0], TWIN: [9.0, 9.0, 9.0, 9.0], BAD: [2.0, None, 3.0, 1.0]}


@dataclass
class Built:
    study_id: int
    answers: dict[tuple[str, int], int] = field(default_factory=dict)  # (model, item) -> id
    labels: dict[tuple[int, str], str] = field(default_factory=dict)  # (id, annotator) -> label


def make_set(store: Store, name: str, kind: str, rows: list[tuple[str, str | None, str]]) -> int:
    question_set = QuestionSet(name=name, kind=kind, source="test")
    question_set.items = [
        SetItemRow(position=p, text=text, reference=reference, language=language, tags=[])
        for p, (text, reference, language) in enumerate(rows)
    ]
    with store.session() as session:
        session.add(question_set)
        session.flush()
        return question_set.id


def build_voices(store: Store) -> int:
    """2 sentences x 2 voices, every clip transcribed; one label. The study's id."""
    sentences = [("Hello there.", None, "en"), ("The train leaves at seven.", None, "en")]
    set_id = make_set(store, "sentences", "tts", sentences)
    study_id = create_study(store, set_id=set_id, models=VOICES, repeats=1, params={})
    for item in load_plan(store, study_id).items:
        for position, voice in enumerate(VOICES):
            gid = claim(store, study_id, item, voice, 0, position=position, seed=None)
            assert gid is not None
            store.finish_generation(gid, "ok", transcript=item.text, gen_s=0.5)
            if position == 0 and item.position == 0:
                store.add_label(gid, "relevant", annotator="ana")
    return study_id


def answer_text(model: str, item: int) -> str:
    # good and twin say the reference; bad shares no word with it.
    return ITEMS[item][1] if model != BAD else "Nothing to see on this screen at all"


def build(store: Store) -> Built:
    """4 items x 3 models, one repeat. ana and bo label every answer: m:good and m:twin
    relevant, m:bad irrelevant, but bo calls m:good's second answer partial. The judge scored
    every answer (JUDGE_SCORES)."""
    set_id = make_set(store, "shots", "vlm", list(ITEMS))
    study_id = create_study(store, set_id=set_id, models=MODELS, repeats=1, params={})
    built = Built(study_id)
    for index, item in enumerate(load_plan(store, study_id).items):
        for position, model in enumerate(MODELS):
            gid = claim(store, study_id, item, model, 0, position=position, seed=None)
            assert gid is not None
            store.finish_generation(
                gid, "ok", output_text=answer_text(model, index), total_s=1.0, output_tokens=3
            )
            built.answers[(model, index)] = gid
    for (model, index), gid in built.answers.items():
        for annotator in ("ana", "bo"):
            relevance = "irrelevant" if model == BAD else "relevant"
            if (model, index, annotator) == (GOOD, 1, "bo"):
                relevance = "partial"
            store.add_label(gid, relevance, annotator=annotator)
            built.labels[(gid, annotator)] = relevance
    with store.session() as session:
        for (model, index), gid in built.answers.items():
            score = JUDGE_SCORES[model][index]
            session.add(
                JudgeScore(
                    study_id=study_id,
                    generation_id=gid,
                    judge_spec=JUDGE,
                    protocol="reference",
                    prompt_hash="a" * 64,
                    position=0,
                    status=JUDGE_SCORED if score is not None else JUDGE_UNPARSED,
                    score=score,
                    reasons="close" if score is not None else None,
                    error=None if score is not None else "The judge's reply has no score.",
                    finished_at=utcnow(),
                )
            )
    return built


def shown_rows(at: AppTest, column: str) -> dict[str, dict[str, Any]]:
    """The rows, by model, of the first table that shows `column`."""
    for frame in at.dataframe:
        if column in frame.proto.column_order:
            return {row["model"]: row for row in frame.value.to_dict("records")}
    raise AssertionError(f"no table shows {column}")


def metric(at: AppTest, label: str) -> str:
    [found] = [m for m in at.metric if m.label == label]
    return str(found.value)


@pytest.fixture()
def built(lineup_home: Path) -> Built:
    return build(Store(load_settings().database_url))


def test_the_study_page_shows_scores_ranking_and_agreement(built: Built) -> None:
    at = studies_page(study=str(built.study_id))
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert headers.index("Speed") < headers.index("Scores") < headers.index("Ranking and agreement")

    scores = shown_rows(at, "rouge1_f1")
    assert list(scores) == MODELS
    for model in MODELS:
        judged = [s for s in JUDGE_SCORES[model] if s is not None]
        row = scores[model]
        assert row["judge_score"] == pytest.approx(statistics.fmean(judged) / 10)
        assert (row["judged"], row["judge_failures"]) == (len(judged), 4 - len(judged))
        # 3 or 4 judged items: below the item bootstrap's floor of 5, the cell says why there
        # is none.
        assert row["judge_score_ci_low"] is None
        assert row["judge_ci"] in ("none: 3 items", "none: 4 items")
    assert scores[GOOD]["rouge1_f1"] == 1.0 and scores[BAD]["rouge1_f1"] == 0.0
    assert scores[GOOD]["rouge1_ci"] == "none: 4 items"  # never a zero-width "1.00–1.00"
    # The second item is Russian: m:bad's English answer to it is in the wrong language.
    checks = shown_rows(at, "wrong_language_text")
    assert checks[BAD]["with_reference"] == 4
    assert checks[BAD]["wrong_language_text"].startswith("1 of ")
    assert any(f"Judge: `{JUDGE}`" in c.value for c in at.caption)

    ranking = shown_rows(at, "bt_rank_text")
    # Four items: below the floor of 5 shared items there is no rank, rating or interval (the
    # rule before gave m:good and m:twin a shared rank 1 from them); the note says why, and
    # m:bad, whose every label is irrelevant, lost every comparison.
    notes = "\n".join(unescaped(m.value) for m in at.markdown)  # under the table, by name
    for model in (GOOD, TWIN):
        assert ranking[model]["bt_rank_text"] is None and pd.isna(ranking[model]["bt_rating"])
    assert notes.count("**: battles on fewer than 5 items (4): no rating") == 2
    assert notes.count("**: lost every comparison") == 1
    assert any(
        c.value.startswith("No rank yet: a rank, a rating and an interval need at least 5")
        for c in at.caption
    )

    # Agreement, by hand over the labels the test wrote.
    ids = sorted(built.answers.values())
    table = np.array([[ORDINAL[built.labels[(g, who)]] for g in ids] for who in ("ana", "bo")])
    alpha = krippendorff.alpha(
        reliability_data=table, level_of_measurement="ordinal", value_domain=[0, 1, 2]
    )
    assert metric(at, "Krippendorff's alpha") == f"{alpha:.2f}"
    kappa = cohen_kappa_score(table[0], table[1], weights="linear", labels=[0, 1, 2])
    [pair] = [f for f in at.dataframe if "n_shared" in f.proto.column_order]
    same = float(np.mean(table[0] == table[1]))  # the raw agreement: identical labels
    assert metric(at, "Raw agreement") == f"{100 * same:.0f}%"
    assert pair.value.to_dict("records") == [
        {
            "a": "ana",
            "b": "bo",
            "kappa": pytest.approx(kappa),
            "raw_agreement": pytest.approx(same),
            "n_shared": len(ids),
        }
    ]
    scored = {
        gid: JUDGE_SCORES[model][index]
        for (model, index), gid in built.answers.items()
        if JUDGE_SCORES[model][index] is not None
    }
    pairs = [(scored[g], ORDINAL[rel]) for (g, _), rel in built.labels.items() if g in scored]
    rho = spearmanr([s for s, _ in pairs], [r for _, r in pairs]).statistic
    assert metric(at, "Spearman") == f"{rho:.2f}"
    assert metric(at, "Label pairs") == str(len(pairs))
    # Per model (lineup.score.judge_reliability): scipy over the pairs on its answers alone.
    by_model = shown_rows(at, "spearman")
    assert list(by_model) == MODELS
    mine = {built.answers[(GOOD, index)] for index in range(4)}
    good = [(scored[g], ORDINAL[rel]) for (g, _), rel in built.labels.items() if g in mine]
    assert by_model[GOOD]["spearman"] == pytest.approx(
        spearmanr([s for s, _ in good], [r for _, r in good]).statistic
    )
    # m:twin's scores are all 9 and m:bad's labels all irrelevant: no correlation to give.
    assert pd.isna(by_model[TWIN]["spearman"]) and pd.isna(by_model[BAD]["spearman"])
    assert [by_model[m]["n"] for m in MODELS] == [8, 8, 6]
    # No label is two steps from the judge's reading (bo's partial against an 8 is one).
    assert metric(at, "Disputed answers") == "0"
    assert not [m for m in at.metric if m.label == "Flip rate"]  # the reference protocol
    assert any("reference protocol: each answer is judged once" in c.value for c in at.caption)


def test_a_judge_swayed_only_by_the_order_scores_1_and_its_reliability_is_shown(
    built: Built,
) -> None:
    store = Store(load_settings().database_url)
    fixed = "ollama:fixed:7b"
    # 8 to Answer 1 and 6 to Answer 2 whatever they say: the candidate gets 8 then 6.
    for gid in built.answers.values():
        add_pair_verdicts(store, built.study_id, gid, fixed, (8, 6), (6, 8))
    at = studies_page(study=str(built.study_id))
    assert not at.exception
    scores = shown_rows(at, "rouge1_f1")
    # (8 + 6) / (6 + 8) for every answer of every model.
    assert [scores[m]["judge_score"] for m in MODELS] == [1.0, 1.0, 1.0]
    # 12 answers, 24 verdicts, all won by the answer shown first; all 12 flip.
    assert metric(at, "First-position win rate") == "100%"
    assert metric(at, "Flip rate") == "100%"
    assert metric(at, "Disputed answers") == "12"
    assert any(
        "of 24 decided verdicts on 12 answers judged in both orders, 24 went to the answer "
        "shown first" in c.value
        for c in at.caption
    )
    [link] = [link for link in at.get("page_link") if "disputed" in link.proto.label]
    assert link.proto.label == "Walk the 12 disputed answers in the label queue"
    assert (link.proto.page, link.proto.query_string) == (
        "label_queue",
        f"study={built.study_id}&disputed=1",
    )
    # Both judges that ran, the latest first.
    [table] = [f for f in at.dataframe if "flip" in f.proto.column_order]
    rows = table.value.to_dict("records")
    assert [(r["judge"], r["protocol"]) for r in rows] == [
        (fixed, "pairwise"),
        (JUDGE, "reference"),
    ]
    assert rows[0]["first"] == 100 and rows[0]["flip"] == 100 and rows[0]["disputed"] == 12


def test_a_voice_study_has_no_scores_and_says_what_its_ranking_needs(lineup_home: Path) -> None:
    study_id = build_voices(Store(load_settings().database_url))
    at = studies_page(study=str(study_id))
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert "Scores" not in headers and "Ranking and agreement" in headers
    captions = [c.value for c in at.caption]
    assert any(c.startswith("No ranking yet: it needs labels") for c in captions)
    assert "Needs two annotators on the same answers." in captions
    assert any("Voice studies have no judge" in c for c in captions)
    assert metric(at, "Krippendorff's alpha") == "–"


def leaderboard(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(LEADERBOARD), default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def test_the_leaderboard_filtered_to_a_study_shows_its_ranking_and_agreement(
    built: Built,
) -> None:
    at = leaderboard({"study": str(built.study_id)})
    assert not at.exception
    assert f"Study #{built.study_id} · shots" in [h.value for h in at.subheader]
    summary = Lineup.open().studies.summary(built.study_id)
    ranking = shown_rows(at, "bt_rank_text")
    notes = "\n".join(unescaped(m.value) for m in at.markdown)
    for model in summary["models"]:  # four items: no rating, and the note says why
        assert ranking[model["model"]]["bt_rank_text"] is None
        assert f"**: {rank_note(model)}" in notes
    assert metric(at, "Krippendorff's alpha") == f"{summary['agreement']['alpha']:.2f}"
    assert not any("choose a study in the filters" in c.value for c in at.caption)


def test_without_a_study_filter_the_leaderboard_says_where_rankings_are_and_computes_none(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_summary(self: Studies, study_id: int) -> dict[str, Any]:
        raise AssertionError("the unfiltered leaderboard computed a study summary")

    monkeypatch.setattr(Studies, "summary", no_summary)
    at = leaderboard()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert (
        "Rankings (Bradley-Terry, with intervals) and annotator agreement are per study: choose "
        "a study in the filters to see them here."
    ) in captions
    assert not [f for f in at.dataframe if "bt_rank_text" in f.proto.column_order]


def draw_ranking() -> None:
    """The ranking of a made-up summary whose models carry arena figures too."""
    import streamlit as st

    from components.study import ranking_table

    summary = st.session_state["summary"]
    ranking_table(summary, {m["model"]: m["model"] for m in summary["models"]})


def test_the_arena_ranking_stands_beside_the_labels_ranking_with_its_ties() -> None:
    def model(name: str, bt: tuple[float, int], arena: tuple[float, int] | None) -> dict:
        rating, rank = bt
        row = {"model": name, "bt_rating": rating, "bt_ci_low": rating - 50.0}
        row |= {"bt_ci_high": rating + 50.0, "bt_rank": rank}
        if arena is not None:
            row |= {"arena_rating": arena[0], "arena_ci_low": arena[0] - 80.0}
            row |= {"arena_ci_high": arena[0] + 80.0, "arena_rank": arena[1], "arena_votes": 12}
        return row

    summary = {
        "study_id": 7,
        "models": [
            model("ollama:a:1b", (1100.0, 1), (1040.0, 1)),
            model("ollama:b:1b", (900.0, 2), (1030.0, 1)),
            model("ollama:c:1b", (1000.0, 1), None),  # no vote on its answers yet
        ],
    }
    at = AppTest.from_function(draw_ranking, default_timeout=30)
    at.session_state["summary"] = summary
    at.run()
    assert not at.exception
    [frame] = at.dataframe
    assert frame.proto.column_order[:5] == [
        "bt_rank_text",
        "name",
        "rank_relevance",
        "bt_rating",
        "bt_ci",
    ]
    assert "arena_rank_text" in frame.proto.column_order
    rows = frame.value.to_dict("records")
    assert [r["model"] for r in rows] == ["ollama:a:1b", "ollama:c:1b", "ollama:b:1b"]
    by_model = {r["model"]: r for r in rows}
    assert by_model["ollama:a:1b"]["bt_rank_text"] == "1 (tie)"
    assert by_model["ollama:b:1b"]["bt_rank_text"] == "2"
    assert by_model["ollama:a:1b"]["arena_rank_text"] == "1 (tie)"
    assert by_model["ollama:b:1b"]["arena_ci"] == "950–1110"
    assert pd.isna(by_model["ollama:c:1b"]["arena_rank_text"])  # shown as –

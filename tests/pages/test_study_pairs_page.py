"""The ranks, the pairs matrix and their words on the Studies page and in the reports, on a
study where every item orders A > B > C and on one of two identical models (headless,
AppTest); the figures themselves are checked in tests/unit/test_pairs.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.store.database import Store
from tests.builders import CHAMPION, IDENTICAL, ORDERED, build_pairs_study
from tests.pages.helpers import studies_page, unescaped

RANK_WORDS = "Rank = 1 + the number of models shown better than this one"


def ranking_rows(at) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    for frame in at.dataframe:
        if "bt_rank_text" in frame.proto.column_order:
            return {row["model"]: row for row in frame.value.to_dict("records")}
    raise AssertionError("no ranking table")


def test_three_ranks_with_their_words_and_the_matrix_on_the_page_and_in_the_reports(
    lineup_home: Path, tmp_path: Path
) -> None:
    study_id = build_pairs_study(Store(load_settings().database_url), ORDERED)
    at = studies_page(study=str(study_id))
    assert not at.exception
    rows = ranking_rows(at)
    assert [rows[m]["bt_rank_text"] for m in ("m:A", "m:B", "m:C")] == ["1", "2", "3"]
    captions = [c.value for c in at.caption]
    assert any(
        "3 different ranks: each model is shown better than the one ranked just below it." in c
        and RANK_WORDS in c
        for c in captions
    )
    cells = at.table[0].value  # the relevance score's; % relevant's is in an expander
    assert cells.shape == (3, 3) and cells.iloc[1, 1] == "–"
    assert cells.iloc[0, 1].endswith("better (100% of resamples)")
    assert cells.iloc[2, 0].endswith("worse (100% of resamples)")
    words = "\n".join(unescaped(m.value) for m in at.markdown)
    assert "is better than" in words and "on this set: 100% of resamples" in words

    app = Lineup.open()
    [html] = app.studies.report(study_id, "html", tmp_path / "html")
    text = html.read_text(encoding="utf-8")
    assert (
        "3 different ranks: each model is shown better than the one ranked just below it." in text
    )
    assert RANK_WORDS in text and 'class="pairs-matrix"' in text
    assert "better (100% of resamples)" in text
    [md] = app.studies.report(study_id, "md", tmp_path / "md")
    markdown = md.read_text(encoding="utf-8")
    assert "## Which differences are real" in markdown and RANK_WORDS in markdown
    assert "| 1 | m:A |" in unescaped(markdown) and "| 3 | m:C |" in unescaped(markdown)


def test_identical_models_share_one_rank_and_the_page_says_no_difference(
    lineup_home: Path, tmp_path: Path
) -> None:
    study_id = build_pairs_study(Store(load_settings().database_url), IDENTICAL)
    at = studies_page(study=str(study_id))
    assert not at.exception
    rows = ranking_rows(at)
    assert {r["bt_rank_text"] for r in rows.values()} == {"1 (tie)"}
    assert any("One shared rank for all 2 models" in c.value for c in at.caption)
    words = "\n".join(unescaped(m.value) for m in at.markdown)
    assert "no difference shown" in words
    [md] = Lineup.open().studies.report(study_id, "md", tmp_path / "md")
    markdown = unescaped(md.read_text(encoding="utf-8"))
    assert "| 1= | m:same-1 |" in markdown and "| 1= | m:same-2 |" in markdown
    assert "One shared rank for all 2 models" in markdown


def test_a_model_that_won_every_comparison_is_marked_on_the_page(lineup_home: Path) -> None:
    study_id = build_pairs_study(Store(load_settings().database_url), CHAMPION)
    at = studies_page(study=str(study_id))
    assert not at.exception
    champ = ranking_rows(at)["m:champ"]
    assert champ["bt_rank_text"] == "1" and pd.isna(champ["bt_rating"])
    notes = [unescaped(m.value) for m in at.markdown]
    assert any(
        "**m:champ**: won every comparison: no rating (the fit would make one up)" in n
        for n in notes
    )

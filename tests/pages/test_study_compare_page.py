"""Two studies compared on the Studies page (`?compare=BASELINE,CANDIDATE`): the paired
differences and the regressions shown, the way there ("Compare with..."), a refusal shown as a
message, and the report to download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from tests.builders import FULL, INT4, INT8, build_compared_studies, build_ladder_study
from tests.pages.helpers import shown_texts, studies_page


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    for frame in at.dataframe:
        value: Any = frame.value
        if column in value.columns:
            return value
    raise AssertionError(f"no table shows {column}")


def test_the_comparison_shows_differences_and_regressions(lineup_home: Path) -> None:
    app = Lineup.open()
    baseline, candidate = build_compared_studies(app.store)
    at = studies_page(compare=f"{baseline},{candidate}")
    assert not at.exception
    texts = "\n".join(shown_texts(at))
    assert f"study **#{baseline}**" in texts.replace("Baseline study ", "study ")
    differences = frame_with(at, "reading")
    relevance = differences[differences["figure"] == "Relevance"].iloc[0]
    # Baseline 6 items relevant (1); candidate 0, 0.5 and four 1: (0 + 0.5 + 4) / 6 = 0.75.
    assert relevance["baseline"] == 1.0 and abs(relevance["candidate"] - 0.75) < 1e-9
    regressions = frame_with(at, "change")
    assert set(regressions["question"]) == {"Question 0?", "Question 1?"}
    # Worst first: item 0 (1 -> 0) before item 1 (1 -> 0.5) among the relevance rows.
    rows = regressions[regressions["figure"] == "Relevance"]
    assert list(rows["question"]) == ["Question 0?", "Question 1?"]
    labels = [b.label for b in at.get("download_button")]
    assert "Comparison report (HTML)" in labels and "Comparison report (MD)" in labels


def test_compare_with_opens_the_comparison_and_a_refusal_is_a_message(
    lineup_home: Path,
) -> None:
    app = Lineup.open()
    baseline, candidate = build_compared_studies(app.store)
    at = studies_page(study=str(candidate))
    assert not at.exception
    at.selectbox(key="study-compare-pick").select(baseline).run()
    assert not at.exception
    value = at.query_params["compare"]
    assert (value[0] if isinstance(value, list) else value) == f"{baseline},{candidate}"
    assert any(f.value is not None for f in at.dataframe)
    at = studies_page(compare=f"{candidate},{candidate}")
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"Study {candidate} compared with itself shows no difference: give two studies."
    ]


def test_agreement_with_a_chosen_model_beside_the_speed(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id = build_ladder_study(app.store)
    at = studies_page(study=str(study_id))
    assert not at.exception
    frame = frame_with(at, "rougeL_to_chosen")
    rows = {row["model"]: row for row in frame.to_dict("records")}
    # Worked by hand in tests/unit/test_agreement_with.py: against m:full, the first model.
    assert set(rows) == {INT8, INT4}
    assert abs(rows[INT8]["identical_share"] - 0.9) < 1e-9
    assert abs(rows[INT4]["rougeL_to_chosen"] - 0.6) < 1e-9
    # Four answers at 20 tokens/s (repeat 0, one failed) and five at 21: the median 21.
    assert rows[INT4]["median_tokens_per_s"] == 21.0
    at.selectbox(key=f"study-against-{study_id}").select(INT4).run()
    assert not at.exception
    rows = {row["model"]: row for row in frame_with(at, "rougeL_to_chosen").to_dict("records")}
    assert set(rows) == {FULL, INT8}

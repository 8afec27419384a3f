"""The Leaderboard page ranks VLMs by the lower end of the 95% interval of % relevant, says so,
and calls its counts Labels and Answers, in the table and in the CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lineup.core.settings import load_settings
from lineup.store.database import Store
from tests.builders import MANY_LABELS, ONE_LABEL, label_answers
from tests.pages.helpers import PAGES, shown_columns


def test_the_page_ranks_by_the_interval_says_so_and_its_csv_says_labels_and_answers(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(load_settings().database_url)
    label_answers(store, ONE_LABEL, ["relevant"])
    label_answers(store, MANY_LABELS, ["relevant"] * 47 + ["irrelevant"] * 9)
    downloads: dict[str, pd.DataFrame] = {}

    def keep(frame: pd.DataFrame, label: str, file_name: str, key: str, **_: Any) -> None:
        downloads[file_name] = frame

    monkeypatch.setattr("components.exports.csv_download", keep)
    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    assert at.dataframe[0].value["model"].tolist() == [MANY_LABELS, ONE_LABEL]
    labels = {c["label"]: c for c in shown_columns(at, 0).values()}
    assert "Labels" in labels and "Answers" in labels and "Labeled" not in labels
    assert "lower end" in labels["95% CI"]["help"]
    assert any("lower end of its 95% interval" in c.value for c in at.caption)
    csv = downloads["lineup-vlm-leaderboard.csv"]
    assert csv["model"].tolist() == [MANY_LABELS, ONE_LABEL]
    assert {"labels", "answers"} <= set(csv.columns)
    assert not {"n", "ok", "labeled"} & set(csv.columns)
    assert csv.loc[0, ["labels", "answers"]].tolist() == [56, 56]

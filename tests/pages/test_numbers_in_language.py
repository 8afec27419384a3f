"""Numbers in the pages' tables and charts follow the interface's language
(components.tables, components.charts): in Russian a decimal comma, no-break-space thousands
and "70 %" (the grid shows a Styler's text, the column keeps its numbers); in English the
printf formats and Plotly's defaults exactly as they were. Expected cells are written by hand
from the study's known figures (70% relevant, mean score 0.80, a Bradley-Terry rating of
1008.7), not by the code's formatting."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from tests.pages.test_interface_language import _labeled_study, open_page

NBSP = "\u00a0"


def columns(table: Any) -> dict[str, Any]:
    return json.loads(table.proto.columns)


def shown_cells(table: Any) -> list[dict[str, Any]]:
    """The cells the grid shows from a Styler (empty when the table has none)."""
    raw = table.proto.arrow_data.styler.display_values
    return pa.ipc.open_stream(io.BytesIO(raw)).read_pandas().to_dict("records") if raw else []


def table_with(at: AppTest, column: str) -> Any:
    [table] = [t for t in at.dataframe if column in columns(t)]
    return table


def formats(table: Any) -> dict[str, str | None]:
    return {k: v["type_config"].get("format") for k, v in columns(table).items() if k != "_index"}


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def first_row(table: Any, model: str = "ollama:llava:7b") -> dict[str, Any]:
    [row] = [r for r in shown_cells(table) if r["model"] == model]
    return row


def test_a_study_in_russian_writes_its_tables_and_charts_the_russian_way(
    lineup_home: Path,
) -> None:
    app = Lineup.open()
    study_id, _data = _labeled_study(app)
    at = open_page("app_pages/studies.py", lang="ru", study=str(study_id))
    assert not at.exception

    relevance = table_with(at, "ci_text")
    assert relevance.value.loc[0, "pct_relevant"] == 70.0  # the number stays a number
    row = first_row(relevance)
    assert row["pct_relevant"] == f"70{NBSP}%"
    assert row["relevance"] == "0,80"
    assert row["ci_text"] == f"50–90{NBSP}%"
    assert row["relevance_ci_text"] == "0,65–0,95"
    assert row["requests"] == "10"
    # The printf formats are dropped: the grid shows the Styler's text.
    assert formats(relevance)["pct_relevant"] is None
    assert formats(relevance)["relevance"] is None

    ranking = table_with(at, "bt_rating")
    assert round(ranking.value.loc[0, "bt_rating"], 1) == 1008.7
    row = first_row(ranking)
    assert row["bt_rating"] == f"1{NBSP}009"
    assert row["bt_ci"] == f"937–1{NBSP}084"
    assert row["rank_relevance"] == "0,80"

    [kappa] = shown_cells(table_with(at, "raw_agreement"))
    assert (kappa["kappa"], kappa["raw_agreement"], kappa["n_shared"]) == (
        "0,00",
        f"40{NBSP}%",
        "10",
    )

    listing = table_with(at, "repeats")
    assert formats(listing)["created"] == "DD.MM.YYYY HH:mm"

    for spec in charts(at):
        assert spec["layout"]["separators"] == f",{NBSP}"
    labels = [d["text"] for spec in charts(at) for d in spec["data"] if d.get("text")]
    assert [f"  70{NBSP}% (n=10)", f"  60{NBSP}% (n=10)"] in labels


def test_the_same_study_in_english_is_drawn_as_it_always_was(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id, _data = _labeled_study(app)
    at = open_page("app_pages/studies.py", study=str(study_id))
    assert not at.exception
    assert all(shown_cells(table) == [] for table in at.dataframe)  # no Styler anywhere
    relevance = table_with(at, "ci_text")
    assert formats(relevance)["pct_relevant"] == "%.0f%%"
    assert formats(relevance)["relevance"] == "%.2f"
    assert relevance.value.loc[0, "ci_text"] == "50–90%"
    assert relevance.value.loc[0, "relevance_ci_text"] == "0.65–0.95"
    ranking = table_with(at, "bt_rating")
    assert formats(ranking)["bt_rating"] == "%.0f"
    assert ranking.value.loc[0, "bt_ci"] == "937–1084"
    assert formats(table_with(at, "repeats"))["created"] == "YYYY-MM-DD HH:mm"
    assert formats(table_with(at, "raw_agreement"))["raw_agreement"] == "percent"
    for spec in charts(at):
        assert "separators" not in spec["layout"]
    labels = [d["text"] for spec in charts(at) for d in spec["data"] if d.get("text")]
    assert ["  70% (n=10)", "  60% (n=10)"] in labels


def test_the_leaderboard_in_russian(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id, _data = _labeled_study(app)
    at = open_page("app_pages/leaderboard.py", lang="ru", study=str(study_id))
    assert not at.exception
    board = [t for t in at.dataframe if "ci_text" in columns(t)][0]
    row = first_row(board)
    # 7 of 10 labels relevant: Wilson's 95% interval by hand, (0.7 + 1.96²/20 ± 1.96·√(0.021 +
    # 1.96²/400)) / (1 + 1.96²/10) = 0.397 to 0.892.
    assert row["ci_text"] == f"40–89{NBSP}%"
    assert row["pct_relevant"] == f"70{NBSP}%"
    assert formats(board)["pct_relevant"] is None
    assert all(spec["layout"]["separators"] == f",{NBSP}" for spec in charts(at))
    assert [d.proto.format for d in at.date_input] == ["DD.MM.YYYY", "DD.MM.YYYY"]
    english = open_page("app_pages/leaderboard.py", study=str(study_id))
    assert [d.proto.format for d in english.date_input] == ["YYYY-MM-DD", "YYYY-MM-DD"]
    assert all(shown_cells(t) == [] for t in english.dataframe)
    assert all("separators" not in spec["layout"] for spec in charts(english))

"""Room for longer words: a table column whose translated header is longer than the width
chosen for the English one is widened to show it, and a chart's long axis title is broken
over lines instead of being cut at both ends (components.study.common, components.charts)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.charts import wrap_axis_titles
from components.study.common import said_columns
from lineup.app import N_, using_language


def test_a_longer_translated_header_widens_its_column_and_english_keeps_its_width() -> None:
    columns = {
        "pct": st.column_config.NumberColumn(N_("% relevant"), width=70),
        "ok": st.column_config.NumberColumn(N_("Complete"), width=200),
        "name": st.column_config.TextColumn(N_("Model")),
    }
    with using_language("en"):
        said = said_columns(columns)
        assert [said[k]["width"] for k in columns] == [70, 200, None]
        assert said["pct"]["label"] == "% relevant"
    with using_language("ru"):
        said = said_columns(columns)
        # "% релевантных": 13 characters at 7.4 px and 26 px of padding, 122 px, not 70.
        assert said["pct"]["label"] == "% релевантных"
        assert said["pct"]["width"] == 122
        assert said["ok"]["width"] == 200  # wide enough already
        assert said["name"]["width"] is None  # Streamlit sizes it
        # A header said before the table is drawn (the Studies page's "% relevant") too.
        ready = said_columns({"pct": st.column_config.NumberColumn("% релевантных", width=70)})
        assert ready["pct"]["width"] == 122


def test_a_long_axis_title_is_wrapped_between_words_and_the_chart_grows() -> None:
    title = (
        "% релевантных (планка: 95-процентный бутстреп-интервал по элементам; нет при "
        "меньше чем 5 элементах)"
    )
    figure = go.Figure(layout={"xaxis": {"title": title}, "height": 182})
    wrap_axis_titles(figure, 40)  # the lines at 40 characters; the Studies page uses 28
    lines = figure.layout.xaxis.title.text.split("<br>")
    assert lines == [
        "% релевантных (планка: 95-процентный",
        "бутстреп-интервал по элементам; нет при",
        "меньше чем 5 элементах)",
    ]
    assert figure.layout.height == 182 + 2 * 18
    assert figure.layout.xaxis.automargin is True

    short = go.Figure(layout={"xaxis": {"title": "% relevant"}, "height": 182})
    wrap_axis_titles(short, 40)
    assert short.layout.xaxis.title.text == "% relevant"
    assert short.layout.height == 182

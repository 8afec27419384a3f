"""How a table's and a chart's numbers are written in another language (components.tables,
lineup.core.percentage/significant/separators), against hand-written strings; English
leaves the frame and its column configs untouched."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import streamlit as st

from components.tables import cell_writer, in_language
from lineup.app import percentage, separators, significant, using_language

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("fmt", "value", "russian"),
    [
        ("%.2f", 1234.5, f"1{NBSP}234,50"),
        ("%.1f", 0.25, "0,2"),  # half to even, as number() always rounds
        ("%.0f", 1008.69, f"1{NBSP}009"),
        ("%d", 12345, f"12{NBSP}345"),
        ("%d", 7, "7"),
        ("%.1f%%", 12.5, f"12,5{NBSP}%"),
        ("%.0f%%", 40.0, f"40{NBSP}%"),
        ("percent", 0.8333, f"83,33{NBSP}%"),  # Streamlit's: up to two decimals
        ("percent", 0.4, f"40{NBSP}%"),
        ("percent", 1.0, f"100{NBSP}%"),
        ("%.3g", 0.012345, "0,0123"),
        ("%.3g", 1234.0, "1,23e+03"),
        ("%+.3g", 0.5, "+0,5"),
        ("%+.3g", -0.125, "-0,125"),
        ("%+.2f", 1.5, "+1,50"),
    ],
)
def test_a_cell_in_russian(fmt: str, value: float, russian: str) -> None:
    with using_language("ru"):
        writer = cell_writer(fmt)
        assert writer is not None
        assert writer(value) == russian


def test_a_format_it_does_not_read_is_kept() -> None:
    frame = pd.DataFrame({"price": [1.5]})
    config = {"price": st.column_config.NumberColumn("Price", format="$%.2f")}
    with using_language("ru"):
        assert cell_writer("$%.2f") is None
        shown, said = in_language(frame, config)
    assert shown is frame
    assert said == config


def test_english_is_left_exactly_as_it_was() -> None:
    frame = pd.DataFrame({"share": [12.5], "when": [dt.datetime(2026, 12, 7, 18, 50)]})
    config = {
        "share": st.column_config.NumberColumn("Share", format="%.1f%%"),
        "when": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    }
    shown, said = in_language(frame, config)
    assert shown is frame
    assert said is config


def test_russian_writes_the_numbers_and_drops_their_printf_formats() -> None:
    frame = pd.DataFrame(
        {
            "share": [12.5, None],
            "count": [1234, 5],
            "plain": [27.0, 0.125],
            "name": ["a", "b"],
            "when": [dt.datetime(2026, 12, 7, 18, 50)] * 2,
        }
    )
    config = {
        "share": st.column_config.NumberColumn("Share", format="%.1f%%", width=60),
        "count": st.column_config.NumberColumn("Count", format="%d"),
        "name": st.column_config.TextColumn("Name"),
        "when": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    }
    with using_language("ru"):
        shown, said = in_language(frame, config, placeholder="–")
        html = shown.to_html()
    assert said is not None
    assert said["share"]["type_config"]["format"] is None
    assert said["share"]["width"] == 60 and said["share"]["label"] == "Share"
    assert said["count"]["type_config"]["format"] is None
    assert said["when"]["type_config"]["format"] == "DD.MM.YYYY HH:mm"
    assert config["share"]["type_config"]["format"] == "%.1f%%"  # the constant is not changed
    assert shown.data is frame  # the numbers underneath, for sorting
    for cell in (f"12,5{NBSP}%", "–", f"1{NBSP}234", ">5<", ">27<", "0,125"):
        assert cell.replace(NBSP, "&nbsp;") in html or cell in html


def test_a_table_too_big_for_a_styler_keeps_the_english_formats() -> None:
    frame = pd.DataFrame({"x": [0.5, 1.5]})
    config = {"x": st.column_config.NumberColumn("X", format="%.2f")}
    with using_language("ru"), pd.option_context("styler.render.max_elements", 1):
        shown, said = in_language(frame, config)
    assert shown is frame
    assert said is config


def test_percentage_significant_and_separators() -> None:
    assert percentage(12.5, 1) == "12.5%"
    assert significant(0.5, sign=True) == "+0.5"
    assert separators() is None
    with using_language("ru"):
        assert percentage(12.5, 1) == f"12,5{NBSP}%"
        assert percentage(1234.0) == f"1{NBSP}234{NBSP}%"
        assert significant(0.012345) == "0,0123"
        assert separators() == f",{NBSP}"


def test_an_id_column_is_plain_and_never_grouped() -> None:
    """Ids and item numbers are names, not quantities: their columns say "plain", which the
    Russian writer leaves to the grid (1234, never "1 234"), while a count is grouped."""
    from components.study.listing import STUDY_LIST_COLUMNS

    assert STUDY_LIST_COLUMNS["id"]["type_config"]["format"] == "plain"
    frame = pd.DataFrame({"id": [1234], "count": [1234]})
    config = {
        "id": st.column_config.NumberColumn("Study", format="plain"),
        "count": st.column_config.NumberColumn("Count", format="%d"),
    }
    with using_language("ru"):
        assert cell_writer("plain") is None
        shown, said = in_language(frame, config)
        html = shown.to_html()
    assert said is not None
    assert said["id"]["type_config"]["format"] == "plain"  # the grid writes 1234
    assert said["count"]["type_config"]["format"] is None
    assert f">1{NBSP}234<" in html  # the count's cell

"""What several sections of a study's page share: the widths that fit a 1400 px window, the
labels' words, the model tables' columns and how they are drawn."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import streamlit as st

from components.label_bar import CHOICES, VOICE_WORDS
from components.tables import dataframe
from lineup.app import ENGLISH, N_, _, current_language

EMPTY_CELL = "–"
NAME_PX = 190  # the model column; every table fits a 1400 px window beside the sidebar
TABLE_PX = 930  # the width of a table beside the sidebar in a 1400 px window
SENTENCE_PX = 240
MIN_TRANSCRIPT_PX = 160
# The label buttons' words: a voice's clip is judged on how it says the sentence.
VLM_WORDS = {value: text for value, text, _icon in CHOICES}


def words(kind: str) -> dict[str, str]:
    """The names of the three labels in a study of this kind, in the page's language."""
    return {value: _(text) for value, text in (VOICE_WORDS if kind == "tts" else VLM_WORDS).items()}


def number_column(label: str, definition: str, fmt: str, width: int) -> Any:
    """A number column; its label and definition are marked (`N_`) or already said, and
    `said_columns` says them when the table is drawn."""
    return st.column_config.NumberColumn(label, help=definition, format=fmt, width=width)


def name_column(label: str) -> Any:
    return st.column_config.TextColumn(
        label,
        help=N_(
            "A short name; the full specs are under the study's title (Models and parameters)."
        ),
        width=NAME_PX,
        pinned=True,
    )


# A column header's width in the grid: the canvas cuts a header wider than its column, and
# the widths below were chosen for the English words. In another language a longer header
# widens its column by this estimate of the header font (Source Sans at 14 px, Cyrillic the
# widest).
HEADER_CHAR_PX = 7.4
HEADER_PADDING_PX = 26


def header_width(label: str) -> int:
    """The width in pixels a grid column needs to show `label` whole."""
    return round(HEADER_CHAR_PX * len(label) + HEADER_PADDING_PX)


def _said_column(config: dict[str, Any]) -> dict[str, Any]:
    english = config.get("label")
    label = _(english) if english else english
    help_text = _(config["help"]) if config.get("help") else config.get("help")
    said = {**config, "label": label, "help": help_text}
    width = config.get("width")
    if label and current_language() != ENGLISH and isinstance(width, int):
        said["width"] = max(width, header_width(label))
    return said


def said_columns(columns: dict[str, Any]) -> dict[str, Any]:
    """A table's column configs with their labels and definitions in the page's language: the
    tables' columns are constants made at import (in English, marked with `N_`), said here
    when drawn. A text already said comes back as it is (the catalog has no such message). A
    column whose translated header is longer than its width allows is widened to show it."""
    return {
        key: _said_column(config) if isinstance(config, dict) else config
        for key, config in columns.items()
    }


def model_table(
    frame: pd.DataFrame,
    names: dict[str, str],
    columns: dict[str, Any],
    width: int | Literal["stretch", "content"] = "stretch",
) -> None:
    shown = frame.assign(name=[names[m] for m in frame["model"]])
    dataframe(
        shown,
        hide_index=True,
        column_order=list(columns),
        column_config=said_columns(columns),
        placeholder=EMPTY_CELL,
        width=width,
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain values, NaN as None."""
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or another value pandas cannot test
        return False

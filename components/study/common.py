"""What several sections of a study's page share: the widths that fit a 1400 px window, the
labels' words, the model tables' columns and how they are drawn."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import streamlit as st

from components.label_bar import CHOICES, VOICE_WORDS

EMPTY_CELL = "–"
NAME_PX = 190  # the model column; every table fits a 1400 px window beside the sidebar
TABLE_PX = 930  # the width of a table beside the sidebar in a 1400 px window
SENTENCE_PX = 240
MIN_TRANSCRIPT_PX = 160
# The label buttons' words: a voice's clip is judged on how it says the sentence.
VLM_WORDS = {value: text for value, text, _icon in CHOICES}


def words(kind: str) -> dict[str, str]:
    """The names of the three labels in a study of this kind."""
    return VOICE_WORDS if kind == "tts" else VLM_WORDS


def count_text(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def number_column(label: str, definition: str, fmt: str, width: int) -> Any:
    return st.column_config.NumberColumn(label, help=definition, format=fmt, width=width)


def name_column(label: str) -> Any:
    return st.column_config.TextColumn(
        label,
        help="A short name; the full specs are under the study's title (Models and parameters).",
        width=NAME_PX,
        pinned=True,
    )


def model_table(
    frame: pd.DataFrame,
    names: dict[str, str],
    columns: dict[str, Any],
    width: int | Literal["stretch", "content"] = "stretch",
) -> None:
    shown = frame.assign(name=[names[m] for m in frame["model"]])
    st.dataframe(
        shown,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
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

"""Tables whose numbers and dates follow the page's language.

A number column's `format` is a printf format ("%.2f") that Streamlit's grid applies in the
browser, always with a decimal point. In English a table is drawn exactly as it always was. In
another language `in_language` writes each number column's cells in Python (`number()` and
`percentage()`: "1 234,5", "12,5 %") as a pandas Styler's display values and drops the printf
format from the column's config: the grid shows a Styler's display value in a number column
only when the column has no format of its own, and keeps the number underneath, so the column
still sorts as numbers. Date columns take the locale's short date ("07.12.2026 18:50")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from pandas.api.types import is_float_dtype

from lineup.app import ENGLISH, current_language, number, percent, percentage, significant

# A printf format of one number: an optional sign flag, precision, d/f/g, and an optional "%%".
_PRINTF = re.compile(r"%(?P<plus>\+?)(?:\.(?P<digits>\d+))?(?P<kind>[dfg])(?P<percent>%%)?")
# Streamlit's own date formats (momentJS) and the Russian short date (CLDR's dd.MM.y).
_DATES = {"YYYY-MM-DD HH:mm": "DD.MM.YYYY HH:mm", "YYYY-MM-DD": "DD.MM.YYYY"}


def dataframe(
    data: pd.DataFrame, column_config: dict[str, Any] | None = None, **options: Any
) -> None:
    """`st.dataframe` with the numbers and dates written in the page's language."""
    shown, config = in_language(data, column_config, options.get("placeholder"))
    st.dataframe(shown, column_config=config, **options)


def in_language(
    frame: pd.DataFrame, columns: dict[str, Any] | None, placeholder: str | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """The frame and column configs to draw in the current language: as given in English;
    otherwise the number columns written by a Styler (their printf formats dropped) and the
    date columns in the locale's order. A format this does not read stays as it is."""
    if current_language() == ENGLISH or not columns:
        return frame, columns
    said: dict[str, Any] = {}
    writers: dict[str, Callable[[Any], str]] = {}
    for key, config in columns.items():
        said[key] = config
        kind = config.get("type_config") if isinstance(config, dict) else None
        if not kind:
            continue
        fmt = kind.get("format")
        if kind.get("type") == "datetime" and fmt in _DATES:
            said[key] = {**config, "type_config": {**kind, "format": date_format(fmt)}}
        elif kind.get("type") == "number" and fmt and key in frame.columns:
            writer = cell_writer(fmt)
            if writer is not None:
                writers[key] = writer
                said[key] = {**config, "type_config": {**kind, "format": None}}
    if not writers:
        return frame, said
    for key in frame.columns:
        # The grid shows a Styler's text in every number column without a format of its own:
        # a float column the config leaves alone is written as the grid would (up to four
        # decimals), not as pandas' six.
        kind = (said.get(key) or {}).get("type_config") or {}
        if key not in writers and not kind.get("format") and is_float_dtype(frame[key]):
            writers[key] = _plain
    if frame.size > int(pd.options.styler.render.max_elements):
        return frame, columns  # too big for a Styler: the numbers as in English
    styled = frame.style.format(writers, na_rep=placeholder or "")
    return styled, said


def date_format(fmt: str) -> str:
    """A date's momentJS format (a date column's, a date picker's) in the current language:
    "YYYY-MM-DD" stays in English, is "DD.MM.YYYY" in Russian."""
    return fmt if current_language() == ENGLISH else _DATES.get(fmt, fmt)


def cell_writer(fmt: str) -> Callable[[Any], str] | None:
    """How a cell of a column with this Streamlit number format is written in the current
    language; None for a format this does not read."""
    if fmt == "percent":  # Streamlit's: a fraction, up to two decimals
        return lambda value: _trim(percent(float(value), 2))
    match = _PRINTF.fullmatch(fmt)
    if match is None:
        return None
    plus = bool(match["plus"])
    digits = (
        int(match["digits"]) if match["digits"] is not None else (6 if match["kind"] != "d" else 0)
    )
    if match["kind"] == "g":
        return lambda value: significant(float(value), digits, sign=plus)
    if match["kind"] == "d":
        digits = 0
    write = percentage if match["percent"] else number

    def written(value: Any) -> str:
        text = write(float(value), digits)
        return "+" + text if plus and float(value) > 0 else text

    return written


def _plain(value: Any) -> str:
    """A number with no format: up to four decimals, their trailing zeros dropped."""
    return _trim(number(float(value), 4))


def _trim(text: str) -> str:
    """Zero decimals dropped: "83,30 %" → "83,3 %", "100,00 %" → "100 %", "27,0000" → "27"
    (the Russian decimal comma)."""
    return re.sub(r",?0+(?=\D*$)", "", text) if "," in text else text

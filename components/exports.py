"""CSV downloads of tables: small frames at once, whole store tables only when asked for."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

import pandas as pd
import streamlit as st

from lineup.app import write_table

# Rows written to disk beyond this many bytes of CSV (tempfile.SpooledTemporaryFile).
SPOOL_BYTES = 16 * 2**20


def frame_csv(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV, its cells as lineup.core.cells writes them (no formula, NaN empty)."""
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    file = io.StringIO(newline="")
    write_table(file, [str(column) for column in frame.columns], rows)
    return file.getvalue().encode()


def csv_download(
    frame: pd.DataFrame, label: str, file_name: str, key: str, where: Any = st
) -> None:
    """A download button for `frame` as CSV; disabled when there is nothing to download."""
    where.download_button(
        label,
        frame_csv(frame),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        disabled=frame.empty,
    )


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    """`rows` as UTF-8 CSV under a header, written row by row as they arrive (to disk past
    SPOOL_BYTES), rewound for reading; cells as lineup.core.cells writes them (no formula)."""
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    write_table(text, columns, rows)
    text.flush()
    text.detach()
    spooled.seek(0)
    return spooled


def streamed_csv_download(
    label: str,
    columns: Sequence[str],
    rows: Callable[[], Iterable[Sequence[Any]]],
    file_name: str,
    key: str,
    *,
    disabled: bool = False,
    where: Any = st,
) -> None:
    """A download button for a whole table (the raw export): nothing is read when the page is
    drawn; on a click `rows()` is read as the store streams it (lineup.store.export_rows) and
    written as CSV, so memory holds a batch of rows and the file, never the table as objects."""
    where.download_button(
        label,
        lambda: write_csv(columns, rows()),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        disabled=disabled,
        on_click="ignore",
    )

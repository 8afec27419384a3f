"""CSV downloads of tables: small frames at once, whole store tables only when asked for."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

import pandas as pd
import streamlit as st

# Rows written to disk beyond this many bytes of CSV (tempfile.SpooledTemporaryFile).
SPOOL_BYTES = 16 * 2**20


def csv_download(
    frame: pd.DataFrame, label: str, file_name: str, key: str, where: Any = st
) -> None:
    """A download button for `frame` as CSV; disabled when there is nothing to download."""
    where.download_button(
        label,
        frame.to_csv(index=False).encode(),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        disabled=frame.empty,
    )


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    """`rows` as UTF-8 CSV under a header, written row by row as they arrive (to disk past
    SPOOL_BYTES), rewound for reading. Values are written as pandas' to_csv writes them: None
    as an empty cell."""
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
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

"""CSV downloads of tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st


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

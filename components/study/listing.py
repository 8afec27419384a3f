"""The list of every study."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from components.study.common import EMPTY_CELL, number_column, said_columns
from components.tables import dataframe
from lineup.app import N_, StudyInfo, _, state_word


def studies_frame(studies: Sequence[StudyInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": s.id,
                "set": s.set_name,
                "kind": _("Voices") if s.kind == "tts" else "VLM",
                "models": len(s.models),
                "repeats": s.repeats,
                "status": state_word(s.status),
                "created": _naive(s.created_at),
                "finished": _naive(s.finished_at),
            }
            for s in studies
        ],
        columns=["id", "set", "kind", "models", "repeats", "status", "created", "finished"],
    )


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment is not None else None


STUDY_LIST_COLUMNS: dict[str, Any] = {
    "id": number_column(N_("Study"), N_("The study's id (its page: ?study=ID)."), "plain", 60),
    "set": st.column_config.TextColumn(N_("Set"), width=220),
    "kind": st.column_config.TextColumn(N_("Kind"), width=70),
    "models": number_column(N_("Models"), N_("Models or voices."), "%d", 70),
    "repeats": number_column(N_("Repeats"), N_("Repeats (samples for voices) per item."), "%d", 70),
    "status": st.column_config.TextColumn(N_("Status"), width=90),
    "created": st.column_config.DatetimeColumn(N_("Created"), format="YYYY-MM-DD HH:mm", width=140),
    "finished": st.column_config.DatetimeColumn(
        N_("Finished"), format="YYYY-MM-DD HH:mm", width=140
    ),
}


def studies_table(studies: Sequence[StudyInfo]) -> None:
    dataframe(
        studies_frame(studies),
        hide_index=True,
        column_order=list(STUDY_LIST_COLUMNS),
        column_config=said_columns(STUDY_LIST_COLUMNS),
        placeholder=EMPTY_CELL,
    )

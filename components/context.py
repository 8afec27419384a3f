"""The app's engine and the annotator, shared by every page."""

from __future__ import annotations

import streamlit as st

from lineup.service import Lineup
from lineup.settings import Settings, load_settings


@st.cache_resource(show_spinner=False)
def _open(settings: Settings) -> Lineup:
    return Lineup.open(settings)


def get_lineup() -> Lineup:
    """One engine (store, media, config) per distinct set of settings, for the whole server."""
    return _open(load_settings())


def annotator_sidebar() -> str:
    """The annotator's name, set once in the sidebar and kept for the session (and the URL)."""
    if "annotator" not in st.session_state:
        st.session_state["annotator"] = st.query_params.get("annotator", "")
    name = st.sidebar.text_input(
        "Your name (for labels)",
        key="annotator",
        placeholder="e.g. ana",
        help="Labels are stored under this name; each annotator's latest label counts.",
    ).strip()
    if name:
        st.query_params["annotator"] = name
    return name

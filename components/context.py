"""The app's engine and the annotator, shared by every page."""

from __future__ import annotations

import os

import streamlit as st

from lineup.config import ConfigError
from lineup.service import Lineup
from lineup.settings import Settings, load_settings


@st.cache_resource(show_spinner=False)
def _open(settings: Settings) -> Lineup:
    return Lineup.open(settings)


def get_lineup() -> Lineup:
    """One engine (store, media, config) per distinct set of settings, for the whole server.

    backends.toml is read again on every page run, so an edit shows without a restart.
    """
    try:
        app = _open(load_settings())
        app.refresh_config()
    except (ConfigError, ValueError) as exc:
        st.error(f"Lineup cannot start: {exc}", icon=":material/settings_alert:")
        st.stop()
    _keys_from_secrets(app)
    return app


def _keys_from_secrets(app: Lineup) -> None:
    """API keys may live in Streamlit secrets as well as in the environment.

    The backends read keys from environment variables only (by the names in backends.toml,
    OPENAI_API_KEY by default), so a key found in `st.secrets` under such a name is put in the
    process environment, unless the environment already sets it. Keys never reach the store.
    """
    names = {"OPENAI_API_KEY"} | {e.api_key_env for e in app.config.endpoints if e.api_key_env}
    try:
        secrets = {name: st.secrets[name] for name in names if name in st.secrets}
    except FileNotFoundError:  # no secrets.toml at all
        return
    for name, value in secrets.items():
        if isinstance(value, str) and value and not os.environ.get(name):
            os.environ[name] = value


def recent_runs_sidebar(app: Lineup, kind: str, query_key: str) -> None:
    """A picker of recent runs in the sidebar, to reopen one (e.g. to label it later)."""
    runs = app.store.latest_runs(kind, limit=30)
    if not runs:
        return
    current = st.query_params.get(query_key, "")
    labels = {
        str(run.id): f"#{run.id} · {run.input_text[:40]} · {len(run.generations)} answers"
        for run in runs
    }
    options = ["", *labels]
    chosen = st.sidebar.selectbox(
        "Open a recent run",
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda key: labels.get(key, "—"),
        key=f"recent-{kind}",
    )
    if chosen and chosen != current:
        st.query_params[query_key] = chosen
        st.rerun()


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

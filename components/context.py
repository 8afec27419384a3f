"""The app's engine and the annotator, shared by every page."""

from __future__ import annotations

import time

import streamlit as st

from components.language import apply_language
from lineup.app import (
    ANNOTATOR_MAX_CHARS,
    INPUT_ERRORS,
    Lineup,
    RunKind,
    Settings,
    _,
    load_settings,
    ngettext,
    read_keys_from,
)


@st.cache_resource(show_spinner=False)
def _open(settings: Settings) -> Lineup:
    return Lineup.open(settings)


def _key_from_secrets(name: str) -> str | None:
    """An API key kept in Streamlit secrets under its variable's name (the environment wins)."""
    try:
        value = st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml at all
        return None
    return value if isinstance(value, str) else None


def get_lineup() -> Lineup:
    """The engine for this page run.

    One engine (store, media, caches) per distinct set of settings for the whole server,
    shared by every session and never changed: each page run reads backends.toml again and
    gets its own facade over that engine (so an edit shows without a restart, and no session
    sees another's reading change mid-run). Rows whose process died become `interrupted`
    (with their partial text) on every page run.
    """
    apply_language()
    try:
        app = _open(load_settings()).refreshed()
        app.reap_orphans()
    except INPUT_ERRORS as exc:
        st.error(
            _("Lineup cannot start: {reason}").format(reason=exc), icon=":material/settings_alert:"
        )
        st.stop()
    read_keys_from(_key_from_secrets)
    return app


def _state_key(query_key: str) -> str:
    return f"page-runs-{query_key}"


def page_runs(query_key: str) -> list[int]:
    """The runs the page shows: those in its address (`?run=N`, `?runs=N,M`), else the ones
    it showed last in this session (switching pages drops the address's query; a browser
    message sent before the browser had the address of runs just started carries the one
    before, see `show_started`)."""
    value = st.query_params.get(query_key)
    if value is not None and _stale_address(query_key, value):
        value = None  # the address as it was before a start, sent back by the browser
    if value is None:
        value = st.session_state.get(_state_key(query_key))
        if value:
            st.query_params[query_key] = value
    else:
        st.session_state[_state_key(query_key)] = value
    return [int(part) for part in (value or "").split(",") if part.strip().isdigit()]


def show_runs(query_key: str, run_ids: list[int]) -> None:
    """Make these the page's runs, in its address and its session."""
    value = ",".join(str(run_id) for run_id in run_ids)
    st.query_params[query_key] = value
    st.session_state[_state_key(query_key)] = value


# A browser message sent before the browser had the address of runs just started arrives
# within this (the address is sent as the start is remembered, not when the page is drawn).
STALE_ADDRESS_S = 3.0
# Ends the label of the item a picker shows. The browser sends a picker's label back with
# each message; one sent before it drew the page since its item changed carries the old
# item's label with this mark, which is then no option: never a pick of the old item.
SHOWN_MARK = "\u200b"


def _replaced_key(query_key: str) -> str:
    return f"page-runs-replaced-{query_key}"


def show_started(query_key: str, run_ids: list[int]) -> None:
    """Make runs a click just started the page's (`show_runs`), noting what they replace:
    until the browser has the new address, its messages (a second click) carry the old one,
    which `page_runs` must not take for the person's."""
    before = ",".join(str(run_id) for run_id in page_runs(query_key))
    st.session_state[_replaced_key(query_key)] = (before, time.monotonic())
    show_runs(query_key, run_ids)


def _stale_address(query_key: str, value: str) -> bool:
    replaced = st.session_state.get(_replaced_key(query_key))
    return (
        isinstance(replaced, tuple)
        and replaced[0] == value
        and time.monotonic() - replaced[1] < STALE_ADDRESS_S
    )


def _open_picked(picker_key: str, query_key: str) -> None:
    chosen = st.session_state.get(picker_key)
    # A label that is no option (a stale one, see SHOWN_MARK) comes back as the label itself.
    if isinstance(chosen, str) and chosen.isdigit():
        show_runs(query_key, [int(chosen)])


def recent_runs_sidebar(app: Lineup, kind: RunKind, query_key: str) -> None:
    """A picker of recent runs in the sidebar, to reopen one (e.g. to label it later).

    It shows the page's run and changes it only when the person picks one (its callback):
    a value it kept from an earlier pick never sends the page back to an older run.
    """
    runs = app.compare.latest(kind, limit=30)
    if not runs:
        return
    # The question last: the box cuts what does not fit. English says "answers" whatever the
    # count, as it always did; Russian agrees the noun. Translated here, in the script run:
    # format_func may be called outside it.
    labels = {
        str(run.id): ngettext(
            "#{run} · {count} answers · {question}",
            "#{run} · {count} answers · {question}",
            len(run.generations),
        ).format(run=run.id, count=len(run.generations), question=run.input_text[:60])
        for run in runs
    }
    options = ["", *labels]
    picker_key = f"recent-{kind}"
    current = ",".join(str(run_id) for run_id in page_runs(query_key))
    st.session_state[picker_key] = current if current in labels else ""
    if current in labels:
        labels[current] += SHOWN_MARK
    st.sidebar.selectbox(
        _("Open a recent run"),
        options,
        format_func=lambda key: labels.get(key, "—"),
        key=picker_key,
        on_change=_open_picked,
        args=(picker_key, query_key),
    )


ANNOTATOR_NAME_KEY = "annotator_name"  # the name itself, kept across pages


def _keep_annotator() -> None:
    st.session_state[ANNOTATOR_NAME_KEY] = st.session_state["annotator"]


def annotator_sidebar() -> str:
    """The annotator's name, set once in the sidebar and kept for the session (and the URL).

    Streamlit forgets a widget's state when a page without that widget runs, and each page
    draws its own sidebar: the name lives under its own key and is handed back to the
    widget on every page."""
    if ANNOTATOR_NAME_KEY not in st.session_state:
        st.session_state[ANNOTATOR_NAME_KEY] = st.query_params.get("annotator", "")
    st.session_state["annotator"] = st.session_state[ANNOTATOR_NAME_KEY]
    name = st.sidebar.text_input(
        _("Your name (for labels)"),
        key="annotator",
        placeholder=_("e.g. ana"),
        help=_("Labels are stored under this name; each annotator's latest label counts."),
        on_change=_keep_annotator,
    ).strip()
    if len(name) > ANNOTATOR_MAX_CHARS:
        st.sidebar.error(
            _(
                "That name is {length} characters long; names are at most {limit}. Labels "
                "are not saved until it is shorter."
            ).format(length=len(name), limit=ANNOTATOR_MAX_CHARS),
            icon=":material/person_alert:",
        )
        return ""
    if name:
        st.query_params["annotator"] = name
    return name

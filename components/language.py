"""The interface's language for this session: chosen in the sidebar, kept in the address
(`?lang=ru`) and the session, else the browser's (`st.context.locale`), else English."""

from __future__ import annotations

import os

import streamlit as st

from lineup.app import ENGLISH, LANGUAGE_NAMES, LANGUAGES, PSEUDO, _, language_of, set_language

QUERY_KEY = "lang"
STATE_KEY = "lang"  # the language chosen in this session (switch or address)
SWITCH_KEY = "lang-switch"
# The pseudo-locale is the tests' (tests/pages/test_pseudo_locale.py): offered only when asked.
PSEUDO_ENV = "LINEUP_PSEUDO_LOCALE"


def _known(code: str | None) -> str | None:
    if code == PSEUDO:
        return PSEUDO if os.environ.get(PSEUDO_ENV) == "1" else None
    return code if code in LANGUAGES else None


def apply_language() -> str:
    """Set this script run's language and return it: the address's, else the one chosen
    earlier in the session (put back in the address: switching pages drops its query), else
    the browser's, else English. Called at the top of every run (app.py and get_lineup)."""
    asked = _known(st.query_params.get(QUERY_KEY))
    if asked is not None:
        st.session_state[STATE_KEY] = asked
    else:
        asked = _known(st.session_state.get(STATE_KEY))
        if asked is not None:
            st.query_params[QUERY_KEY] = asked
    if asked is None:
        try:
            browser = st.context.locale
        except Exception:  # noqa: BLE001 - no browser (a bare script run): English
            browser = None
        asked = _known(language_of(browser)) or ENGLISH
    set_language(asked)
    return asked


def _chosen() -> None:
    code = st.session_state[SWITCH_KEY]
    if code in LANGUAGES:
        st.session_state[STATE_KEY] = code
        st.query_params[QUERY_KEY] = code


def language_switch(current: str) -> None:
    """The sidebar's English / Русский switch, showing `current`."""
    st.session_state[SWITCH_KEY] = current if current in LANGUAGES else ENGLISH
    st.sidebar.segmented_control(
        _("Language"),
        options=list(LANGUAGES),
        format_func=lambda code: LANGUAGE_NAMES[code],
        key=SWITCH_KEY,
        on_change=_chosen,
        label_visibility="collapsed",
        width="stretch",
    )

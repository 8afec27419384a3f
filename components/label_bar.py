"""Three relevance buttons and a comment, written to the store the moment they are used."""

from __future__ import annotations

import streamlit as st

from lineup.models import Label
from lineup.service import INPUT_ERRORS, Lineup

CHOICES = [
    ("relevant", "Relevant", ":material/thumb_up:"),
    ("partial", "Partly", ":material/thumbs_up_down:"),
    ("irrelevant", "Irrelevant", ":material/thumb_down:"),
]
# A clip is heard, not read: its labels say whether it was spoken right.
VOICE_WORDS = {"relevant": "Correct", "partial": "Flawed", "irrelevant": "Wrong"}


def _error_key(generation_id: int) -> str:
    return f"label-error-{generation_id}"


def _save(
    app: Lineup, generation_id: int, relevance: str, annotator: str, comment_key: str
) -> None:
    comment = st.session_state.get(comment_key) or None
    try:
        app.add_label(generation_id, relevance, annotator=annotator, comment=comment)
    except INPUT_ERRORS as exc:  # a non-ok answer, a name too long: said beside the buttons
        st.session_state[_error_key(generation_id)] = str(exc)
    else:
        st.session_state.pop(_error_key(generation_id), None)


def _save_comment(
    app: Lineup, generation_id: int, annotator: str, comment_key: str, current: Label | None
) -> None:
    if current is not None:
        _save(app, generation_id, current.relevance, annotator, comment_key)


def label_bar(
    app: Lineup,
    generation_id: int,
    annotator: str,
    current: Label | None,
    *,
    labels: dict[str, str] | None = None,
) -> None:
    """Render the bar; the chosen relevance is shown as the primary button.

    The buttons sit in a row that wraps onto a second line in a narrow column, so their
    labels are never cut.
    """
    if not annotator:
        st.caption("Set your name in the sidebar to label.")
        return
    comment_key = f"comment-{generation_id}"
    if comment_key not in st.session_state:
        st.session_state[comment_key] = current.comment if current and current.comment else ""
    row = st.container(horizontal=True, gap="xsmall")
    for value, text, icon in CHOICES:
        row.button(
            (labels or {}).get(value, text),
            key=f"label-{generation_id}-{value}",
            icon=icon,
            type="primary" if current is not None and current.relevance == value else "secondary",
            on_click=_save,
            args=(app, generation_id, value, annotator, comment_key),
        )
    error = st.session_state.get(_error_key(generation_id))
    if error:
        st.error(error, icon=":material/label_off:")
    st.text_input(
        "Comment",
        key=comment_key,
        placeholder="optional comment",
        label_visibility="collapsed",
        on_change=_save_comment,
        args=(app, generation_id, annotator, comment_key, current),
        disabled=current is None,
        help="Choose a relevance first; the comment is saved with it.",
    )

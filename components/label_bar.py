"""Three relevance buttons and a comment, written to the store the moment a person uses them."""

from __future__ import annotations

import streamlit as st

from lineup.app import INPUT_ERRORS, N_, Label, Lineup, _

CHOICES = [
    ("relevant", N_("Relevant"), ":material/thumb_up:"),
    ("partial", N_("Partly"), ":material/thumbs_up_down:"),
    ("irrelevant", N_("Irrelevant"), ":material/thumb_down:"),
]
# A clip is heard, not read: its labels say whether it was spoken right.
VOICE_WORDS = {"relevant": N_("Correct"), "partial": N_("Flawed"), "irrelevant": N_("Wrong")}


def _error_key(generation_id: int) -> str:
    return f"label-error-{generation_id}"


def _comment_key(generation_id: int) -> str:
    return f"comment-{generation_id}"


def _synced_key(generation_id: int) -> str:
    """The stored comment the box last showed: what it holds unless the person typed."""
    return f"comment-synced-{generation_id}"


def _comment(generation_id: int) -> str | None:
    return (st.session_state.get(_comment_key(generation_id)) or "").strip() or None


def _write(
    app: Lineup, generation_id: int, relevance: str, annotator: str, comment: str | None
) -> None:
    try:
        app.labels.add(generation_id, relevance, annotator=annotator, comment=comment)
    except INPUT_ERRORS as exc:  # a non-ok answer, a name too long: said beside the buttons
        st.session_state[_error_key(generation_id)] = str(exc)
    else:
        st.session_state.pop(_error_key(generation_id), None)


def _button_key(generation_id: int, relevance: str) -> str:
    return f"label-{generation_id}-{relevance}"


def _save(app: Lineup, generation_id: int, relevance: str, annotator: str) -> None:
    """A relevance button's on_click: the relevance, with the comment in the box.

    Streamlit also calls it when the browser reports the button unclicked after the server
    dropped its state (the run left the page, see `_save_comment`): only a click counts.
    """
    if st.session_state.get(_button_key(generation_id, relevance)) is not True:
        return
    _write(app, generation_id, relevance, annotator, _comment(generation_id))


def _save_comment(app: Lineup, generation_id: int, annotator: str) -> None:
    """The comment box's on_change: the new comment, on the annotator's label as stored now.

    Streamlit calls this when the browser reports a value it did not hold, and not only after
    typing: when a page run stops drawing a box (Compare replaces the run shown) its state
    is dropped, while the browser may still send the box with its next message. So this
    writes only a comment that the person changed (it differs from the stored comment the box
    showed) and that differs from the stored label's now; with the stored relevance, never
    the one the page drew (another tab may have changed it since).
    """
    comment = _comment(generation_id)
    if comment == (st.session_state.get(_synced_key(generation_id)) or None):
        return  # the box as drawn, reported again: nobody typed
    stored = app.labels.current([generation_id], annotator).get(generation_id)
    if stored is None or stored.comment == comment:
        return
    _write(app, generation_id, stored.relevance, annotator, comment)


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
        st.caption(_("Set your name in the sidebar to label."))
        return
    comment_key, synced_key = _comment_key(generation_id), _synced_key(generation_id)
    stored_comment = current.comment if current and current.comment else ""
    # The box shows the stored comment: when first drawn, and again once another tab has
    # stored a different one (typing saves at once, so there is no unsaved text to keep).
    if comment_key not in st.session_state or st.session_state.get(synced_key) != stored_comment:
        st.session_state[comment_key] = stored_comment
        st.session_state[synced_key] = stored_comment
    row = st.container(horizontal=True, gap="xsmall")
    for value, text, icon in CHOICES:
        row.button(
            _((labels or {}).get(value, text)),
            key=_button_key(generation_id, value),
            icon=icon,
            type="primary" if current is not None and current.relevance == value else "secondary",
            on_click=_save,
            args=(app, generation_id, value, annotator),
        )
    error = st.session_state.get(_error_key(generation_id))
    if error:
        st.error(error, icon=":material/label_off:")
    st.text_input(
        _("Comment"),
        key=comment_key,
        placeholder=_("optional comment"),
        label_visibility="collapsed",
        on_change=_save_comment,
        args=(app, generation_id, annotator),
        disabled=current is None,
        help=_("Choose a relevance first; the comment is saved with it."),
    )

"""A study's buttons: Pause, Resume, Cancel, and the way to its label queue."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from lineup.app import INPUT_ERRORS, STUDY_PAUSED, STUDY_RUNNING, Lineup, StudyInfo, _, error_text


def _act(app: Lineup, action: Literal["pause", "resume", "cancel"], study_id: int) -> None:
    try:
        if action == "pause":
            app.studies.pause(study_id)
        elif action == "resume":
            app.studies.resume(study_id)
        else:
            app.studies.cancel(study_id)
    except INPUT_ERRORS as exc:  # another process runs it, it was cancelled meanwhile
        st.session_state[f"study-error-{study_id}"] = error_text(exc)
    else:
        st.session_state.pop(f"study-error-{study_id}", None)


def study_controls(app: Lineup, info: StudyInfo, annotator: str) -> None:
    """Pause, Resume, Cancel (after a confirmation) and the way to the label queue."""
    row = st.container(horizontal=True, vertical_alignment="center")
    running = info.status == STUDY_RUNNING
    stoppable = info.status in (STUDY_RUNNING, STUDY_PAUSED)
    row.button(
        _("Pause"),
        icon=":material/pause:",
        key=f"study-pause-{info.id}",
        disabled=not running or info.requested is not None,
        on_click=_act,
        args=(app, "pause", info.id),
        help=_("Start no more answers; those under way finish. Resume goes on from there."),
    )
    row.button(
        _("Resume"),
        icon=":material/play_arrow:",
        key=f"study-resume-{info.id}",
        disabled=info.status != STUDY_PAUSED,
        on_click=_act,
        args=(app, "resume", info.id),
        help=_("Run what the study still lacks, in this server."),
    )
    with row.popover(
        _("Cancel"),
        icon=":material/cancel:",
        disabled=not stoppable or info.requested == "cancel",
        key=f"study-cancel-menu-{info.id}",
    ):
        st.markdown(
            _(
                "Stop this study for good? The answers under way are cancelled; those done are "
                "kept, labels and tables too. A cancelled study cannot be resumed."
            )
        )
        st.button(
            _("Cancel the study"),
            type="primary",
            key=f"study-cancel-{info.id}",
            on_click=_act,
            args=(app, "cancel", info.id),
        )
    query = {"study": str(info.id)} | ({"annotator": annotator} if annotator else {})
    row.page_link(
        "app_pages/label_queue.py",
        label=_("Label its answers"),
        icon=":material/fact_check:",
        query_params=query,
        help=_("The label queue of this study: answers item by item, blind and shuffled."),
    )
    error = st.session_state.get(f"study-error-{info.id}")
    if error:
        st.error(error, icon=":material/error:")

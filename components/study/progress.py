"""Where a study stands: its state, a bar for the whole study and one per model, redrawn from the
store while it runs."""

from __future__ import annotations

import streamlit as st

from components.study.common import count_text
from lineup.app import (
    STUDY_CANCELLED,
    STUDY_DONE,
    STUDY_PAUSED,
    STUDY_RUNNING,
    Lineup,
    ModelProgress,
    StudyProgress,
    short_names,
)

PROGRESS_POLL_S = 1.0  # the progress of a running study is read from the store this often
STATUS_LINES = {
    STUDY_RUNNING: ":material/progress_activity: **Running**",
    STUDY_PAUSED: ":material/pause_circle: **Paused**",
    STUDY_CANCELLED: ":material/cancel: **Cancelled**",
    STUDY_DONE: ":material/check_circle: **Done**",
}
REQUEST_LINES = {"pause": "pausing: the answers under way finish first", "cancel": "cancelling"}


def seconds_text(seconds: float | None) -> str:
    """A duration as people read it: 45 s, 3 min 20 s, 2 h 5 min."""
    if seconds is None:
        return "–"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(progress: StudyProgress, requested: str | None) -> str:
    """The study's line above its bar: state, answers done, errors, time spent and left."""
    line = STATUS_LINES.get(progress.status, progress.status)
    if progress.status == STUDY_RUNNING and requested in REQUEST_LINES:
        line += f" ({REQUEST_LINES[requested]})"
    line += f" · {progress.done} of {progress.total} answers"
    if progress.errors:
        line += f" · {count_text(progress.errors, 'error')}"
    line += f" · {seconds_text(progress.elapsed_s)} elapsed"
    if progress.status == STUDY_RUNNING and progress.eta_s is not None:
        line += f" · about {seconds_text(progress.eta_s)} left"
    return line


def model_progress_text(name: str, model: ModelProgress, running: bool) -> str:
    parts = [f"**{name}**", f"{model.done}/{model.total}"]
    if model.errors:
        parts.append(f":red[{count_text(model.errors, 'error')}]")
    if model.running:
        parts.append(f"{model.running} running")
    if running and model.done < model.total:
        if model.eta_s is not None:
            parts.append(f"about {seconds_text(model.eta_s)} left")
        elif not model.running and not model.done:
            parts.append("waiting to start")
    return " · ".join(parts)


def _fraction(done: int, total: int) -> float:
    return min(done / total, 1.0) if total else 1.0


def progress_panel(app: Lineup, study_id: int, drawn_status: str) -> None:
    """The study's state and a bar per model, from the store: it shows the same for a study
    this server runs, one the CLI runs and one a reload finds again. While the study runs it
    is redrawn every PROGRESS_POLL_S (a fragment: the rest of the page stays as it is); when
    its state changes the whole page is drawn again (its buttons and tables follow)."""

    def draw() -> None:
        info = app.studies.get(study_id)
        if info is None:
            return
        progress = app.studies.progress(study_id)
        if progress.status != drawn_status:
            st.rerun()
        st.progress(
            _fraction(progress.done, progress.total), text=progress_text(progress, info.requested)
        )
        names = short_names(m.model for m in progress.models)
        running = progress.status == STUDY_RUNNING
        columns = st.columns(2 if len(progress.models) > 1 else 1, gap="medium")
        for index, model in enumerate(progress.models):
            with columns[index % len(columns)]:
                st.progress(
                    _fraction(model.done, model.total),
                    text=model_progress_text(names[model.model], model, running),
                )

    interval = PROGRESS_POLL_S if drawn_status == STUDY_RUNNING else None
    st.fragment(draw, run_every=interval)()

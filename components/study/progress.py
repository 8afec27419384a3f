"""Where a study stands: its state, a bar for the whole study and one per model, redrawn from the
store while it runs."""

from __future__ import annotations

import streamlit as st

from lineup.app import (
    N_,
    STUDY_CANCELLED,
    STUDY_DONE,
    STUDY_PAUSED,
    STUDY_RUNNING,
    Lineup,
    ModelProgress,
    StudyProgress,
    _,
    ngettext,
    short_names,
)

PROGRESS_POLL_S = 1.0  # the progress of a running study is read from the store this often
STATUS_LINES = {  # the words marked, said through `_()` where drawn
    STUDY_RUNNING: (":material/progress_activity:", N_("Running")),
    STUDY_PAUSED: (":material/pause_circle:", N_("Paused")),
    STUDY_CANCELLED: (":material/cancel:", N_("Cancelled")),
    STUDY_DONE: (":material/check_circle:", N_("Done")),
}
REQUEST_LINES = {
    "pause": N_("pausing: the answers under way finish first"),
    "cancel": N_("cancelling"),
}


def _errors(n: int) -> str:
    return ngettext("{count} error", "{count} errors", n).format(count=n)


def seconds_text(seconds: float | None) -> str:
    """A duration as people read it: 45 s, 3 min 20 s, 2 h 5 min."""
    if seconds is None:
        return "–"
    whole = int(round(seconds))
    if whole < 60:
        return _("{seconds} s").format(seconds=whole)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{secs:02d}")
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes:02d}")


def progress_text(progress: StudyProgress, requested: str | None) -> str:
    """The study's line above its bar: state, answers done, errors, time spent and left."""
    if progress.status in STATUS_LINES:
        icon, word = STATUS_LINES[progress.status]
        line = f"{icon} **{_(word)}**"
    else:
        line = progress.status
    if progress.status == STUDY_RUNNING and requested in REQUEST_LINES:
        line += f" ({_(REQUEST_LINES[requested])})"
    line += " · " + _("{done} of {total} answers").format(done=progress.done, total=progress.total)
    if progress.errors:
        line += f" · {_errors(progress.errors)}"
    line += " · " + _("{duration} elapsed").format(duration=seconds_text(progress.elapsed_s))
    if progress.status == STUDY_RUNNING and progress.eta_s is not None:
        line += " · " + _("about {duration} left").format(duration=seconds_text(progress.eta_s))
    return line


def model_progress_text(name: str, model: ModelProgress, running: bool) -> str:
    parts = [f"**{name}**", f"{model.done}/{model.total}"]
    if model.errors:
        parts.append(f":red[{_errors(model.errors)}]")
    if model.running:
        parts.append(_("{count} running").format(count=model.running))
    if running and model.done < model.total:
        if model.eta_s is not None:
            parts.append(_("about {duration} left").format(duration=seconds_text(model.eta_s)))
        elif not model.running and not model.done:
            parts.append(_("waiting to start"))
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

"""The results of a comparison: column order and titles (blind mode), each column drawn the same
way while the run goes on and once it is stored, the fragment that redraws a run in progress,
and Stop."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import streamlit as st

from components.context import page_runs, show_started
from components.label_bar import label_bar
from components.provenance import comparison_provenance
from components.stats import (
    FigureValues,
    contention_badge,
    render_answer,
    render_figures,
    render_live,
    render_state,
    saved_progress,
    state_line,
)
from lineup.app import (
    OK,
    RUNNING,
    Comparison,
    Generation,
    JobView,
    Label,
    Lineup,
    LiveFigures,
    ModelLabel,
    Run,
    _,
    escape_markdown,
    ngettext,
    number,
    said_stored,
)

REDRAW_INTERVAL_S = 0.05  # at most about 20 redraws a second per column
STORE_POLL_S = 0.5  # a run of another process: its rows get their partial text once a second
RESULTS_ANCHOR = "lineup-results"
STOP_NOTE_KEY = "stop-note"
# Two clicks of a start button this close (as the server receives them) with the same inputs are
# one double click. A person's double click is under half a second (the desktops' default); the
# rest is room for a loaded server, which can receive them further apart than they were made.
DOUBLE_CLICK_S = 1.5


@dataclass(frozen=True)
class ColumnView:
    """One model's answer as a column shows it, from the runner (live) or the store."""

    generation_id: int
    model: str
    status: str
    text: str
    reasoning: str
    error: str | None
    figures: FigureValues | None  # only once the answer is complete
    spec: str | None = None  # the full spec the model's name stood for
    live: LiveFigures | None = None  # while it streams in this process (lineup.measure.live)
    saved: str | None = None  # while it runs in another process: what its stored row says
    concurrent_max: int | None = None  # lineup.run.contention, once the answer ended

    @classmethod
    def of_job(cls, job: JobView) -> ColumnView:
        result = job.result
        return cls(
            job.generation_id,
            job.model,
            job.status,
            job.text,
            job.reasoning,
            said_stored(result.error, result.error_said) if result is not None else None,
            FigureValues.of(result.timings, result.hardware)
            if result is not None and result.status == OK and result.timings is not None
            else None,
            job.spec,
            job.live,
            concurrent_max=result.concurrent_max if result is not None else None,
        )

    @classmethod
    def of_generation(cls, generation: Generation) -> ColumnView:
        return cls(
            generation.id,
            generation.model_spec,
            generation.status,
            generation.output_text or "",
            generation.reasoning_text or "",
            said_stored(generation.error, generation.error_said),
            FigureValues.of(
                generation,
                {
                    "energy_j": generation.energy_j,
                    "energy_source": generation.energy_source,
                    "gpu_mem_mb": generation.gpu_mem_mb,
                },
            )
            if generation.status == OK
            else None,
            generation.resolved_spec,
            saved=saved_progress(generation) if generation.status == RUNNING else None,
            concurrent_max=generation.concurrent_max,
        )


@dataclass(frozen=True)
class Title:
    text: str
    help: str | None = None


def blind_order(run_id: int, count: int) -> list[int]:
    """A shuffled column order, the same on every rerun of the same run."""
    order = list(range(count))
    random.Random(run_id).shuffle(order)
    return order


def names_hidden(run: Run, views: list[ColumnView], labels: Mapping[int, Label]) -> bool:
    """Blind mode hides the names from the first chunk until the run is over and this
    annotator has labeled every complete answer."""
    if not run.blind:
        return False
    if any(view.status == RUNNING for view in views):
        return True
    return not all(view.generation_id in labels for view in views if view.status == OK)


def arrange(
    run: Run,
    views: list[ColumnView],
    hidden: bool,
    label: Callable[[str, str | None], ModelLabel],
) -> list[tuple[ColumnView, Title]]:
    """The columns in the order shown, with their titles: short names with the full spec in a
    tooltip, or in blind mode letters over shuffled columns."""
    if not run.blind:
        return [(view, _title(label(view.model, view.spec))) for view in views]
    shuffled = [views[i] for i in blind_order(run.id, len(views))]
    columns = []
    for index, view in enumerate(shuffled):
        letter = _("Model {letter}").format(letter=chr(ord("A") + index))
        if hidden:
            columns.append((view, Title(letter)))
        else:
            named = label(view.model, view.spec)
            columns.append((view, Title(f"{letter} · {named.title}", named.tooltip)))
    return columns


def _title(named: ModelLabel) -> Title:
    return Title(named.title, named.tooltip)


def draw_column(view: ColumnView) -> None:
    """A column's status line, reasoning, answer (partial ones marked), state and figures."""
    if view.status == RUNNING:
        # The status and the live figures are one element: a redraw sends no more of them.
        render_live(
            ":material/hourglass_top: " + _("waiting for the first token…")
            if not view.text
            else state_line(RUNNING),
            view.live,
            view.saved,
        )
    else:
        st.caption(state_line(view.status))
    if view.reasoning:
        with st.expander(_("Reasoning"), icon=":material/psychology:"):
            st.text(view.reasoning)
    if view.status == RUNNING:
        render_answer(view.text, streaming=True)
    elif view.status == OK:
        render_answer(view.text)
        if not view.text:
            st.markdown("*" + _("(empty answer)") + "*")
    else:
        render_state(view.status, view.error)
        render_answer(view.text, partial=True)
    if view.figures is not None:
        render_figures(view.figures)


def progress_line(
    finished: int, total: int, what: Literal["models", "clips"], started_at: datetime | None
) -> str:
    """The line above a run in progress: how many of its models (or clips) have finished,
    and the seconds since it started."""
    # English says "models" and "clips" whatever the count, as it always did; Russian agrees
    # the noun with the total.
    if what == "clips":
        line = ngettext(
            "**Running:** {finished} of {total} clips finished",
            "**Running:** {finished} of {total} clips finished",
            total,
        )
    else:
        line = ngettext(
            "**Running:** {finished} of {total} models finished",
            "**Running:** {finished} of {total} models finished",
            total,
        )
    elapsed = ""
    if started_at is not None:
        started = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
        seconds = number((datetime.now(UTC) - started).total_seconds())
        elapsed = " · " + _("{value} s").format(value=seconds)
    return f":material/progress_activity: {line.format(finished=finished, total=total)}{elapsed}"


def follow(still_running: Callable[[], bool], draw: Callable[[], None], interval_s: float) -> None:
    """Draw a run in progress now and again every `interval_s` until it has finished; then
    rerun the whole page, which draws the run as stored (label bars, Compare enabled).

    The redraws are a fragment: only this part of the page reruns, and the page's own script
    run ends at once (so nothing of an earlier run lingers on screen, and every widget stays
    live). The workers run on in the server process whatever the page does: a click (Stop,
    any widget) or a reload draws the page anew, and it finds the run again (by the run ids
    the session keeps, and `app.compare.in_progress`: the comparison here, or the store). So
    `draw` reads the run's state afresh each time (the runner's snapshot, or the store), never
    events that a new script run would not see.
    """

    def redraw() -> None:
        if not still_running():
            st.rerun()
        draw()

    st.fragment(redraw, run_every=interval_s)()


def live_views(app: Lineup, run: Run) -> Callable[[], list[ColumnView]]:
    """How to read a run in progress: from its comparison in this process (the text as it
    streams), else from the store (where its process saves the text once a second)."""
    comparison = app.compare.active(run.id)
    if isinstance(comparison, Comparison):
        return lambda: [ColumnView.of_job(job) for job in comparison.snapshot()]

    def from_store() -> list[ColumnView]:
        fresh = app.compare.run(run.id)
        return [ColumnView.of_generation(g) for g in (fresh or run).generations]

    return from_store


def vlm_results(
    app: Lineup, run: Run, views: list[ColumnView], annotator: str, *, live: bool
) -> None:
    """A VLM run's columns: while it runs (a status line each, and the overall progress), or
    as stored (each complete answer with its label bar)."""
    labels: dict[int, Label] = {}
    if annotator and not live:
        labels = app.labels.current([view.generation_id for view in views], annotator)
    hidden = run.blind if live else names_hidden(run, views, labels)
    if live:
        finished = sum(view.status != RUNNING for view in views)
        st.markdown(progress_line(finished, len(views), "models", run.created_at))
    elif hidden:
        st.info(
            _("Blind mode: names appear once you have labeled every answer."),
            icon=":material/visibility_off:",
        )
    columns = arrange(run, views, hidden, app.catalog.model_label)
    if not live:
        contention_badge(
            [
                (title.text, view.concurrent_max, view.concurrent_max)
                for view, title in columns
                if view.status == OK
            ]
        )
    for column, (view, title) in zip(st.columns(len(columns)), columns, strict=True):
        with column:
            st.subheader(escape_markdown(title.text), anchor=False, help=title.help, divider="gray")
            draw_column(view)
            if not live and view.status == OK:
                label_bar(app, view.generation_id, annotator, labels.get(view.generation_id))
    if not live and not hidden:  # a card names its model: none while names are hidden
        comparison_provenance(app, run, [column[0].model for column in columns])


def stop_runs(app: Lineup, query_key: str) -> None:
    """Stop's callback: cancel the page's runs (every unfinished model at once)."""
    run_ids = page_runs(query_key)
    stopped = [app.compare.cancel(run_id) for run_id in run_ids]
    if run_ids and not any(stopped):
        st.session_state[STOP_NOTE_KEY] = _(
            "This run is not running in this app's process (the command line or another "
            "server started it), so it can only be stopped there."
        )


def stop_note() -> None:
    note = st.session_state.pop(STOP_NOTE_KEY, None)
    if note:
        st.warning(note, icon=":material/stop_circle:")


def _token_key(form: str) -> str:
    return f"form-token-{form}"


def _click_key(form: str) -> str:
    return f"form-click-{form}"


def _click_at_key(form: str) -> str:
    return f"form-click-at-{form}"


def _last_start_key(form: str) -> str:
    return f"form-last-start-{form}"


@dataclass(frozen=True)
class _Start:
    """The click that started a form's latest run: its token, when it came, the inputs."""

    token: str
    at: float
    inputs: Hashable


def _clicked(form: str, token: str) -> None:
    st.session_state[_click_key(form)] = token
    st.session_state[_click_at_key(form)] = time.monotonic()


def start_button(
    label: str,
    form: str,
    *,
    running: bool = False,
    inputs: Hashable = None,
    where: Any = st,
    icon: str = ":material/play_arrow:",
    primary: bool = True,
    help: str | None = None,
) -> str | None:
    """A form's start button; when clicked, the token to start its run with (the facade's
    `request_id`, which starts at most one run per token), else None. A click on the form as
    it is is ignored while `running` (the button is disabled then, but a click may still
    arrive).

    A double click must start one run, whatever the timing. Streamlit delivers a click to
    the page's script run at least once: the second click (or another rerun) can cut the
    first click's script run short anywhere (after the run started, before the page
    remembers it) and the click is seen again by the next run. So the click carries the
    token its form had when it was drawn (the button's callback records it), and the form
    gets a new token only once its run is the page's (`remember_start`): a click repeated,
    or made on the form as it was, hands the facade a token that already started its run.

    A run that ends at once (an espeak clip, a model that fails) is drawn, with the form's
    new token, before the second click of a double click arrives: a click within
    DOUBLE_CLICK_S of the one that started the form's latest run, on the same `inputs`,
    hands back that click's token too. Changed inputs, or a later click, start a new run.
    """
    token = st.session_state.get(_token_key(form))
    if not isinstance(token, str):
        token = st.session_state[_token_key(form)] = uuid.uuid4().hex
    pressed = where.button(
        label,
        type="primary" if primary else "secondary",
        icon=icon,
        key=form,
        disabled=running,
        help=help,
        on_click=_clicked,
        args=(form, token),
    )
    clicked = st.session_state.get(_click_key(form))
    if not pressed:
        return None
    if isinstance(clicked, str) and clicked != token:
        # A click on the form as it was: its token started the page's latest run (the
        # facade hands that run back, and the page shows it again; a stale selection that
        # came with the click may have switched the page away from it).
        return clicked
    if running:
        return None
    at = st.session_state.get(_click_at_key(form), time.monotonic())
    last = st.session_state.get(_last_start_key(form))
    if isinstance(last, _Start) and last.inputs == inputs and 0 <= at - last.at < DOUBLE_CLICK_S:
        # The double click goes on from its last click (a triple click is one run too).
        st.session_state[_last_start_key(form)] = _Start(last.token, at, inputs)
        return last.token
    st.session_state[_last_start_key(form)] = _Start(token, at, inputs)
    return token


def _form_of_key(form: str) -> str:
    return f"form-of-{form}"


def remember_start(form: str, query_key: str, run_ids: list[int]) -> None:
    """The runs a form started are the page's from now on (and the form holds their inputs);
    then the form gets a new token (so its next click is a new run)."""
    st.session_state[_form_of_key(form)] = run_ids
    show_started(query_key, run_ids)
    st.session_state[_token_key(form)] = uuid.uuid4().hex


def form_shows(form: str, run_ids: list[int], fill: Callable[[], None]) -> None:
    """Before the form is drawn: when the page shows runs the form did not start or show
    last (a reload, `?run=N`, a recent run reopened, Run again), `fill` sets the form's
    widgets to their inputs, so the form says what the runs below were asked."""
    if run_ids and st.session_state.get(_form_of_key(form)) != run_ids:
        fill()
        st.session_state[_form_of_key(form)] = run_ids


def start_and_stop(
    app: Lineup,
    *,
    label: str,
    form: str,
    query_key: str,
    running: bool,
    inputs: Hashable,
    wait_help: str,
    stop_help: str,
) -> str | None:
    """The start button (disabled while the page's run is in progress) and Stop beside it
    (enabled only then); the token to start the run with when the start button was
    clicked (see `start_button`)."""
    buttons = st.container(horizontal=True, gap="small")
    request = start_button(
        label,
        form,
        running=running,
        inputs=inputs,
        where=buttons,
        help=wait_help if running else None,
    )
    buttons.button(
        _("Stop"),
        icon=":material/stop:",
        key="stop",
        disabled=not running,
        on_click=stop_runs,
        args=(app, query_key),
        help=stop_help,
    )
    stop_note()
    return request


def results_anchor(scroll: bool) -> None:
    """A mark above the results; with `scroll`, the page scrolls to it (after Compare).

    Streamlit draws while the script runs, so the mark may be laid out before the columns
    below it: the scroll is tried again a little later.
    """
    anchor = f'<div id="{RESULTS_ANCHOR}"></div>'
    if not scroll:
        st.html(anchor)
        return
    script = (
        "<script>(() => {"
        f"const go = () => document.getElementById('{RESULTS_ANCHOR}')"
        "?.scrollIntoView({behavior: 'smooth', block: 'start'});"
        "go(); setTimeout(go, 250); setTimeout(go, 1000);"
        "})();</script>"
    )
    st.html(anchor + script, unsafe_allow_javascript=True)

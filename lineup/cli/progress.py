"""Progress drawn on stderr while a command waits: a comparison's live figures per model (vlm),
and a running study's answers (study run, resume, and score's reference model)."""

from __future__ import annotations

import queue
import shutil
import sys
import time
from typing import TextIO

from lineup.app import (
    OK,
    RUNNING,
    Comparison,
    JobView,
    Lineup,
    StudyProgress,
    StudyRun,
    _,
    live_line,
    number,
    said_stored,
)
from lineup.cli.output import err, terminal_safe

TERMINAL_REDRAW_S = 0.5  # the live figures in place, twice a second
LOG_LINES_S = 2.0  # into a file or a pipe: a line per running model every 2 s
# Erase the line the cursor is on; move the cursor to the start of the line above.
ERASE_LINE, LINE_UP = "\x1b[2K", "\x1b[1F"


def live_status(view: JobView) -> str:
    """One running model's line: its live figures and, when it has stalled, that first."""
    if view.live is None:
        return "  " + _("{model}: getting ready").format(model=view.model)
    if view.live.stalled:
        line = _("{model}: STALLED {seconds} s · {figures}").format(
            model=view.model, seconds=number(view.live.quiet_s, 1), figures=live_line(view.live)
        )
    else:
        line = f"{view.model}: {live_line(view.live)}"
    return "  " + line


def follow_comparison(
    comparison: Comparison, out: TextIO | None = None, interval_s: float | None = None
) -> None:
    """Wait for a comparison, drawing each running model's live figures (lineup.measure.live)
    on stderr: on a terminal a block of lines redrawn in place twice a second; into a file or a
    pipe a line per running model every LOG_LINES_S (or every `interval_s`). Each model's end
    is a line of its own."""
    out = out or sys.stderr
    terminal = out.isatty()
    if interval_s is None:
        interval_s = TERMINAL_REDRAW_S if terminal else LOG_LINES_S
    # A line wider than the terminal would wrap, and the redraw would erase too little.
    width = shutil.get_terminal_size().columns - 1 if terminal else None
    drawn = 0  # lines of the block on screen (terminal only)
    next_draw = time.monotonic() + (0 if terminal else interval_s)

    def erase() -> None:
        nonlocal drawn
        if drawn:
            out.write((LINE_UP + ERASE_LINE) * drawn)
            drawn = 0

    while True:
        try:
            event = comparison.events.get(timeout=0.05)
        except queue.Empty:
            event = None
        if event is not None and event.result is not None:
            result = event.result
            if terminal:
                erase()
            if result.status == OK:
                line = _("  done   {model} (generation {generation_id})").format(
                    model=result.model, generation_id=result.generation_id
                )
            else:
                line = _("  failed {model} (generation {generation_id}): {error}").format(
                    model=result.model,
                    generation_id=result.generation_id,
                    error=terminal_safe(said_stored(result.error, result.error_said) or ""),
                )
            out.write(line + "\n")
            out.flush()
        if comparison.done and comparison.events.empty():
            break
        if time.monotonic() >= next_draw:
            lines = [
                live_status(view)[:width]
                for view in comparison.snapshot()
                if view.status == RUNNING
            ]
            if terminal:
                erase()
                drawn = len(lines)
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            next_draw = time.monotonic() + interval_s
    if terminal:
        erase()
        out.flush()
    comparison.wait()  # every job has finished: this only stops the timers


def follow(app: Lineup, run: StudyRun) -> StudyProgress:
    """Wait for a study, drawing its progress on stderr: one bar for all its answers, each
    model's done / total and errors beside it."""
    from tqdm import tqdm

    state = app.studies.progress(run.study_id)
    with tqdm(
        total=state.total,
        initial=state.done,
        desc=_("study {study_id}").format(study_id=run.study_id),
        unit=_("answer"),
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,  # no bar when stderr is not a terminal; the lines below still come
    ) as bar:
        shown = state.done
        while not run.done:
            run.wait_for_change(1.0)
            state = app.studies.progress(run.study_id)
            bar.update(state.done - shown)
            shown = state.done
            bar.set_postfix_str(
                "  ".join(
                    _("{model} {done}/{total} err {errors}").format(
                        model=m.model, done=m.done, total=m.total, errors=m.errors
                    )
                    for m in state.models
                )
            )
    state = app.studies.progress(run.study_id)
    for model in state.models:
        err(
            "  "
            + _("{model}: {done}/{total} done, {errors} failed").format(
                model=model.model, done=model.done, total=model.total, errors=model.errors
            )
        )
    return state

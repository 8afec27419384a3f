"""A running study's progress, drawn on stderr while the command waits for it (study run,
resume, and score's reference model)."""

from __future__ import annotations

import sys

from lineup.app import Lineup, StudyProgress, StudyRun
from lineup.cli.output import err


def follow(app: Lineup, run: StudyRun) -> StudyProgress:
    """Wait for a study, drawing its progress on stderr: one bar for all its answers, each
    model's done / total and errors beside it."""
    from tqdm import tqdm

    state = app.studies.progress(run.study_id)
    with tqdm(
        total=state.total,
        initial=state.done,
        desc=f"study {run.study_id}",
        unit="answer",
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
                "  ".join(f"{m.model} {m.done}/{m.total} err {m.errors}" for m in state.models)
            )
    state = app.studies.progress(run.study_id)
    for model in state.models:
        err(f"  {model.model}: {model.done}/{model.total} done, {model.errors} failed")
    return state

"""A study as its page shows it: progress and controls, tables, charts, an item's answers side by
side, and the downloads."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st

from components.charts import interval_text, wer_chart
from components.label_bar import CHOICES, VOICE_WORDS
from components.runs import ColumnView, draw_column
from components.stats import render_answer, show_text
from components.study_charts import (
    SPEED_AXES,
    item_heatmap,
    item_label,
    rating_chart,
    relevance_chart,
    speed_chart,
)
from lineup.app import (
    INPUT_ERRORS,
    OK,
    STUDY_CANCELLED,
    STUDY_DONE,
    STUDY_PAUSED,
    STUDY_RUNNING,
    Generation,
    Lineup,
    ModelProgress,
    Run,
    StudyInfo,
    StudyProgress,
    StudyTables,
    code_span,
    escape_markdown,
    hide_credentials,
    short_names,
)

PROGRESS_POLL_S = 1.0  # the progress of a running study is read from the store this often
EMPTY_CELL = "–"
NAME_PX = 190  # the model column; every table fits a 1400 px window beside the sidebar
HEATMAP_ITEMS = 40  # items per page of the per-item grid
TABLE_PX = 930  # the width of a table beside the sidebar in a 1400 px window
SENTENCE_PX = 240
MIN_TRANSCRIPT_PX = 160
MAX_PER_ROW = 3  # answers side by side: three fit beside the sidebar in a 1400 px window

STATUS_LINES = {
    STUDY_RUNNING: ":material/progress_activity: **Running**",
    STUDY_PAUSED: ":material/pause_circle: **Paused**",
    STUDY_CANCELLED: ":material/cancel: **Cancelled**",
    STUDY_DONE: ":material/check_circle: **Done**",
}
REQUEST_LINES = {"pause": "pausing: the answers under way finish first", "cancel": "cancelling"}
# The label buttons' words: a voice's clip is judged on how it says the sentence.
VLM_WORDS = {value: text for value, text, _icon in CHOICES}


def words(kind: str) -> dict[str, str]:
    """The names of the three labels in a study of this kind."""
    return VOICE_WORDS if kind == "tts" else VLM_WORDS


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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# The study's head: what it is, where it stands, its controls ------------------------------


def study_caption(info: StudyInfo) -> str:
    """One line of what the study asked: models, repeats and parameters."""
    params = info.params
    voices = info.kind == "tts"
    parts = [
        f"{'Voice' if voices else 'VLM'} set **{escape_markdown(info.set_name)}**",
        f"{len(info.models)} {'voices' if voices else 'models'} × "
        + _count(info.repeats, "sample" if voices else "repeat"),
    ]
    if info.kind == "tts":
        parts.append(f"STT {params.get('stt') or 'none'}")
    else:
        if params.get("temperature") is not None:
            parts.append(f"temperature {params['temperature']}")
        if params.get("max_tokens") is not None:
            parts.append(f"max tokens {params['max_tokens']}")
        if params.get("system"):
            parts.append("with a system prompt")
    if info.seed is not None:
        parts.append(f"seed {info.seed}")
    if params.get("timeout_s") is not None:
        parts.append(f"timeout {params['timeout_s']:g} s")
    if info.blind:
        parts.append("blind")
    parts.append(f"created {info.created_at:%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts)


def study_details(info: StudyInfo, names: dict[str, str]) -> None:
    """The full spec of each model (the tables show short names) and the system prompt."""
    noun = "Voices" if info.kind == "tts" else "Models"
    with st.expander(f"{noun} and parameters", icon=":material/tune:"):
        st.markdown(
            "\n".join(
                f"- **{escape_markdown(names[m])}**: {code_span(hide_credentials(m))}"
                for m in info.models
            )
        )
        system = info.params.get("system")
        if system:
            st.caption("System prompt")
            st.code(system, language=None, wrap_lines=True)


def progress_text(progress: StudyProgress, requested: str | None) -> str:
    """The study's line above its bar: state, answers done, errors, time spent and left."""
    line = STATUS_LINES.get(progress.status, progress.status)
    if progress.status == STUDY_RUNNING and requested in REQUEST_LINES:
        line += f" ({REQUEST_LINES[requested]})"
    line += f" · {progress.done} of {progress.total} answers"
    if progress.errors:
        line += f" · {_count(progress.errors, 'error')}"
    line += f" · {seconds_text(progress.elapsed_s)} elapsed"
    if progress.status == STUDY_RUNNING and progress.eta_s is not None:
        line += f" · about {seconds_text(progress.eta_s)} left"
    return line


def model_progress_text(name: str, model: ModelProgress, running: bool) -> str:
    parts = [f"**{name}**", f"{model.done}/{model.total}"]
    if model.errors:
        parts.append(f":red[{_count(model.errors, 'error')}]")
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
        info = app.study(study_id)
        if info is None:
            return
        progress = app.study_progress(study_id)
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


def _act(app: Lineup, action: Literal["pause", "resume", "cancel"], study_id: int) -> None:
    try:
        if action == "pause":
            app.pause_study(study_id)
        elif action == "resume":
            app.resume_study(study_id)
        else:
            app.cancel_study(study_id)
    except INPUT_ERRORS as exc:  # another process runs it, it was cancelled meanwhile
        st.session_state[f"study-error-{study_id}"] = str(exc)
    else:
        st.session_state.pop(f"study-error-{study_id}", None)


def study_controls(app: Lineup, info: StudyInfo, annotator: str) -> None:
    """Pause, Resume, Cancel (after a confirmation) and the way to the label queue."""
    row = st.container(horizontal=True, vertical_alignment="center")
    running = info.status == STUDY_RUNNING
    stoppable = info.status in (STUDY_RUNNING, STUDY_PAUSED)
    row.button(
        "Pause",
        icon=":material/pause:",
        key=f"study-pause-{info.id}",
        disabled=not running or info.requested is not None,
        on_click=_act,
        args=(app, "pause", info.id),
        help="Start no more answers; those under way finish. Resume goes on from there.",
    )
    row.button(
        "Resume",
        icon=":material/play_arrow:",
        key=f"study-resume-{info.id}",
        disabled=info.status != STUDY_PAUSED,
        on_click=_act,
        args=(app, "resume", info.id),
        help="Run what the study still lacks, in this server.",
    )
    with row.popover(
        "Cancel",
        icon=":material/cancel:",
        disabled=not stoppable or info.requested == "cancel",
        key=f"study-cancel-menu-{info.id}",
    ):
        st.markdown(
            "Stop this study for good? The answers under way are cancelled; those done are "
            "kept, labels and tables too. A cancelled study cannot be resumed."
        )
        st.button(
            "Cancel the study",
            type="primary",
            key=f"study-cancel-{info.id}",
            on_click=_act,
            args=(app, "cancel", info.id),
        )
    query = {"study": str(info.id)} | ({"annotator": annotator} if annotator else {})
    row.page_link(
        "app_pages/label_queue.py",
        label="Label its answers",
        icon=":material/fact_check:",
        query_params=query,
        help="The label queue of this study: answers item by item, blind and shuffled.",
    )
    error = st.session_state.get(f"study-error-{info.id}")
    if error:
        st.error(error, icon=":material/error:")


# Downloads ----------------------------------------------------------------------------------


def csv_zip(app: Lineup, study_id: int) -> bytes:
    """Every table of the study and its raw rows as CSV files in one zip."""
    with tempfile.TemporaryDirectory(prefix="lineup-study-") as folder:
        paths = app.export_study(study_id, "csv", Path(folder))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, arcname=path.name)
    return buffer.getvalue()


def _written(write: Callable[[Path], list[Path]], name: str) -> bytes:
    """The bytes of the one file `write` makes at `name` in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lineup-study-") as folder:
        [path] = write(Path(folder) / name)
        return path.read_bytes()


def report_bytes(app: Lineup, study_id: int, fmt: Literal["html", "md", "xlsx"]) -> bytes:
    """The study's report (lineup.study_report) as a file's bytes."""
    return _written(lambda out: app.study_report(study_id, fmt, out), f"study.{fmt}")


def downloads(app: Lineup, study_id: int) -> None:
    """Download buttons; the files are written only when one is clicked."""
    row = st.container(horizontal=True)
    buttons = [
        (
            "CSV (zip)",
            partial(csv_zip, app, study_id),
            ("csv", f"lineup-study-{study_id}-csv.zip"),
            "application/zip",
            ":material/download:",
            "A CSV per table, plus every answer and every label of the study.",
        ),
        (
            "Report (HTML)",
            partial(report_bytes, app, study_id, "html"),
            ("report-html", f"lineup-study-{study_id}-report.html"),
            "text/html",
            ":material/summarize:",
            "One file that opens anywhere with no network: the tables, scores, ranking, "
            "agreement, every item with its answers, and how each figure is defined.",
        ),
        (
            "Report (XLSX)",
            partial(report_bytes, app, study_id, "xlsx"),
            ("report-xlsx", f"lineup-study-{study_id}-report.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ":material/summarize:",
            "The study as one workbook: summary, automatic metrics, answers per item, the "
            "judge's verdicts with its reasons, labels, agreement and every raw answer, a sheet "
            "each.",
        ),
        (
            "Report (Markdown)",
            partial(report_bytes, app, study_id, "md"),
            ("report-md", f"lineup-study-{study_id}-report.md"),
            "text/markdown",
            ":material/download:",
            "The tables in Markdown, for a ticket or a wiki page.",
        ),
    ]
    for label, make, (key, file_name), mime, icon, help_text in buttons:
        row.download_button(
            label,
            make,
            file_name=file_name,
            mime=mime,
            icon=icon,
            key=f"study-{key}-{study_id}",
            on_click="ignore",
            help=help_text,
        )


# Tables ---------------------------------------------------------------------------------------


def _number(label: str, definition: str, fmt: str, width: int) -> Any:
    return st.column_config.NumberColumn(label, help=definition, format=fmt, width=width)


def _name_column(label: str) -> Any:
    return st.column_config.TextColumn(
        label,
        help="A short name; the full specs are under the study's title (Models and parameters).",
        width=NAME_PX,
        pinned=True,
    )


def _table(
    frame: pd.DataFrame,
    names: dict[str, str],
    columns: dict[str, Any],
    width: int | Literal["stretch", "content"] = "stretch",
) -> None:
    shown = frame.assign(name=[names[m] for m in frame["model"]])
    st.dataframe(
        shown,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        placeholder=EMPTY_CELL,
        width=width,
    )


def relevance_columns(kind: str) -> dict[str, Any]:
    said = words(kind)
    share = said["relevant"].lower()
    return {
        "name": _name_column("Voice" if kind == "tts" else "Model"),
        "pct_relevant": _number(
            f"% {share}", f"Labels '{said['relevant']}' / labels counted × 100.", "%.0f%%", 84
        ),
        "ci_text": st.column_config.TextColumn(
            "95% CI",
            help=f"95% Wilson score interval of % {share}: where the true rate lies, given so "
            "few labels.",
            width=74,
        ),
        "requests": _number(
            "Labels",
            "Labels counted: each annotator's latest label on each complete answer (only the "
            "chosen annotator's when one is chosen).",
            "%d",
            62,
        ),
        "relevant": _number(said["relevant"], f"Labels '{said['relevant']}'.", "%d", 72),
        "partial": _number(said["partial"], f"Labels '{said['partial']}'.", "%d", 62),
        "irrelevant": _number(said["irrelevant"], f"Labels '{said['irrelevant']}'.", "%d", 78),
        "labeled_answers": _number(
            "Labeled", "Complete answers with at least one counted label.", "%d", 70
        ),
        "ok": _number("Complete", "Answers that ended complete (state ok).", "%d", 76),
        "errors": _number(
            "Failed",
            "Answers that ended in error, timeout, cancelled or interrupted: never labeled, "
            "timed or counted elsewhere.",
            "%d",
            58,
        ),
    }


def relevance_table(tables: StudyTables, names: dict[str, str]) -> None:
    frame = tables.relevance.assign(
        ci_text=[
            interval_text(low, high)
            for low, high in zip(
                tables.relevance["pct_relevant_ci_low"],
                tables.relevance["pct_relevant_ci_high"],
                strict=True,
            )
        ]
    )
    _table(frame, names, relevance_columns(tables.study.kind))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain values, NaN as None."""
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or another value pandas cannot test
        return False


SPEED_COLUMNS: dict[str, Any] = {
    "name": _name_column("Model"),
    "tokens_per_time_s": _number(
        "Tok/s (total)",
        "Output tokens over the time of the answers that report both: long answers weigh more "
        "than in a median.",
        "%.1f",
        92,
    ),
    "median_tokens_per_s": _number(
        "Median tok/s",
        "Median decode speed: the server's own figure where it reports one, else (output "
        "tokens − 1) / (total − TTFT).",
        "%.1f",
        92,
    ),
    "median_ttft_s": _number(
        "Med. TTFT (s)", "Median time to the first token of the answer.", "%.2f", 96
    ),
    "median_total_s": _number(
        "Med. total (s)", "Median time from sending the request to the last chunk.", "%.2f", 96
    ),
    "ok": _number("Complete", "Complete answers: the only ones timed.", "%d", 72),
    "output_tokens": _number("Tokens", "Output tokens of the answers with a time.", "%d", 62),
    "time_s": _number("Time (s)", "Total seconds of the same answers.", "%.1f", 66),
    "mean_chars": _number("Mean chars", "Mean length of the answers in characters.", "%.0f", 80),
    "chars_per_s": _number(
        "Chars/s", "Characters of the answers over their total seconds.", "%.0f", 64
    ),
}

REPEAT_COLUMNS: dict[str, Any] = {
    "name": _name_column("Model"),
    "items_repeated": _number(
        "Items repeated", "Items with two or more complete answers of the model.", "%d", 110
    ),
    "identical_repeats": _number(
        "Identical", "Of those, the items whose answers all have exactly the same text.", "%d", 80
    ),
    "identical_share": _number("Identical share", "Identical over items repeated.", "%.2f", 110),
    "mean_repeat_rougeL": _number(
        "ROUGE-L between repeats",
        "Per item, the mean ROUGE-L F1 between each two of its answers; then the mean over "
        "the items repeated (1 = the repeats say the same words in the same order).",
        "%.2f",
        170,
    ),
    "mean_length_spread": _number(
        "Length spread (chars)",
        "Mean over those items of the standard deviation of the answers' lengths.",
        "%.1f",
        150,
    ),
    "mean_time_spread": _number(
        "Time spread (s)",
        "Mean over those items of the standard deviation of the answers' total seconds.",
        "%.2f",
        120,
    ),
}

WER_HELP = (
    "Word error rate of a clip's transcript (by the STT model) against its sentence, both "
    "normalised: lower case, punctuation but the apostrophe removed, numbers written out."
)
VOICE_COLUMNS: dict[str, Any] = {
    "name": _name_column("Voice"),
    "mean_wer_pct": _number("Mean WER", f"{WER_HELP} Mean over scored clips.", "%.1f%%", 76),
    "corpus_wer_pct": _number(
        "Corpus WER", "Total word errors / total reference words of the same clips.", "%.1f%%", 86
    ),
    "wer_sd_pct": _number("WER sd", "Standard deviation of the clips' WERs.", "%.1f%%", 64),
    "cer_pct": _number("Mean CER", "Character error rate, mean over the clips.", "%.1f%%", 74),
    "rtf": _number(
        "Median RTF",
        "Real-time factor: generation / audio seconds (below 1 is faster).",
        "%.3f",
        84,
    ),
    "gen_s_per_sentence": _number("Gen (s)", "Mean seconds to synthesize a sentence.", "%.2f", 64),
    "stt_s_per_sentence": _number("STT (s)", "Mean seconds to transcribe a clip.", "%.2f", 64),
    "ok": _number("Complete", "Clips that ended complete.", "%d", 72),
    "scored": _number("Scored", "Complete clips with a transcript and a WER.", "%d", 62),
    "peak_mem_mb": _number(
        "Peak MB", "The largest memory peak of a clip, in MB (in-process engines).", "%.0f", 72
    ),
}


def speed_table(tables: StudyTables, names: dict[str, str]) -> None:
    _table(tables.speed, names, SPEED_COLUMNS)


def repeats_table(tables: StudyTables, names: dict[str, str]) -> None:
    _table(tables.repeats, names, REPEAT_COLUMNS)


def voices_table(tables: StudyTables, names: dict[str, str]) -> None:
    voices = tables.voices
    percent = {
        f"{key}_pct": 100 * voices[key].astype(float) for key in ("mean_wer", "corpus_wer", "cer")
    }
    frame = voices.assign(**percent, wer_sd_pct=100 * voices["wer_std"].astype(float))
    _table(frame, names, VOICE_COLUMNS)


def _wer_rows(voices: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The voices table's rows as the leaderboard's WER chart reads them."""
    return [
        {
            "voice": r["model"],
            "mean_wer": r["mean_wer"],
            "wer_std": r["wer_std"],
            "scored": r["scored"],
        }
        for r in voices
        if r["mean_wer"] is not None
    ]


@st.fragment  # its speed switch redraws the charts alone, not the page's scores and ranking
def charts(tables: StudyTables, names: dict[str, str]) -> None:
    """Side by side: % relevant with its interval, and speed against % relevant (VLM studies)
    or the mean WER per voice (voice studies)."""
    kind = tables.study.kind
    relevance = records(tables.relevance)
    share = words(kind)["relevant"].lower()
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown(f"**% {share}**")
        if any(r["requests"] for r in relevance):
            st.plotly_chart(relevance_chart(relevance, names, share), key="study-relevance-chart")
        else:
            st.caption("No chart yet: no answer has a label. Label them in the label queue.")
    with right:
        if kind == "tts":
            st.markdown("**Mean WER**")
            scored = _wer_rows(records(tables.voices))
            if scored:
                st.plotly_chart(wer_chart(scored, names), key="study-wer-chart")
            else:
                st.caption("No chart yet: no clip has a transcript.")
            return
        st.markdown(f"**Speed and % {share}**")
        speed_key = st.segmented_control(
            "Speed",
            list(SPEED_AXES),
            format_func=lambda key: "tokens / time" if key == "tokens_per_time_s" else "median",
            default="tokens_per_time_s",
            required=True,
            key="study-speed-axis",
            label_visibility="collapsed",
            help="Speed across: output tokens over total time, or the median decode speed.",
        )
        figure = speed_chart(
            relevance, records(tables.speed), names, speed_key or "tokens_per_time_s"
        )
        if figure is None:
            st.caption("No chart yet: no model has both labels and a speed.")
        else:
            st.plotly_chart(figure, key="study-speed-chart")


# Scores, ranking and agreement ----------------------------------------------------------------

SCORE_PX, SCORE_CI_PX = 66, 88
NO_FIGURE = "–"


def figure_interval(low: float | None, high: float | None, fmt: str = ".2f") -> str | None:
    """An interval as one cell, e.g. "0.31–0.55", or "−124 – 714" when an end is negative (a
    minus sign beside the dash would read as a range); None when there is none."""
    if low is None or high is None:
        return None
    if low < 0 or high < 0:
        return f"{low:{fmt}} – {high:{fmt}}".replace("-", "−")
    return f"{low:{fmt}}–{high:{fmt}}"


def shared_rank(rank: int | None, ranks: Sequence[int | None]) -> str | None:
    """A rank as shown: "1", or "1 (tie)" when another model shares it."""
    if rank is None:
        return None
    return f"{rank} (tie)" if sum(r == rank for r in ranks) > 1 else str(rank)


def _ci_column(what: str) -> Any:
    return st.column_config.TextColumn(
        "95% CI",
        help=f"95% bootstrap interval of the mean {what}: resampling the answers, 1,000 times.",
        width=SCORE_CI_PX,
    )


def _judge_help(judge: dict[str, Any] | None) -> str:
    if judge is None:
        return "The LLM judge's mean figure: no judge has scored this study yet."
    if judge.get("protocol") == "pairwise":
        return (
            f"The mean over answers of {code_span(judge['spec'])}'s score of the answer over "
            "its score of "
            "the reference model's answer, asked in both orders: 1 = as good as the reference, "
            "above 1 = better."
        )
    return (
        f"The mean of {code_span(judge['spec'])}'s score (1–10) / 10 of each answer against "
        "the item's "
        "reference answer: 1 = says what the reference says."
    )


def score_columns(judge: dict[str, Any] | None) -> dict[str, Any]:
    overlap = "1 = the answer is the reference, 0 = no overlap; mean over the answers to items "
    return {
        "name": _name_column("Model"),
        "rouge1_f1": _number(
            "ROUGE-1",
            f"F1 of the words shared with the reference answer. {overlap}with a reference.",
            "%.2f",
            SCORE_PX,
        ),
        "rouge1_ci": _ci_column("ROUGE-1"),
        "rougeL_f1": _number(
            "ROUGE-L",
            f"F1 of the longest common word sequence with the reference. {overlap}with one.",
            "%.2f",
            SCORE_PX,
        ),
        "rougeL_ci": _ci_column("ROUGE-L"),
        "chrf": _number(
            "chrF",
            f"Character n-gram F-score (sacrebleu chrF / 100). {overlap}with one.",
            "%.2f",
            SCORE_PX,
        ),
        "chrf_ci": _ci_column("chrF"),
        "judge_score": _number("Judge", _judge_help(judge), "%.2f", SCORE_PX),
        "judge_ci": _ci_column("judge figure"),
        "judged": _number("Judged", "Answers the judge scored.", "%d", 58),
        "judge_failures": _number(
            "Failures",
            "Answers the judge failed on (no score in its reply, or the request failed): left "
            "out of the mean, never counted as 0.",
            "%d",
            62,
        ),
    }


CHECK_COLUMNS: dict[str, Any] = {
    "name": _name_column("Model"),
    "with_reference": _number(
        "With reference",
        "Complete answers whose item has a reference answer (the set's, else the reference "
        "model's): the ones ROUGE and chrF score.",
        "%d",
        104,
    ),
    "wrong_language_text": st.column_config.TextColumn(
        "Wrong language",
        help="Answers in another language than their item's, of those checked (the item has a "
        "language and the answer is long enough to tell).",
        width=110,
    ),
    "latin_share_pct": _number(
        "Latin share",
        "Mean share of Latin letters in the answers to items in a non-Latin script (e.g. "
        "Russian); – without such items.",
        "%.0f%%",
        84,
    ),
    "other_script_chars": _number(
        "Other-script chars",
        "Letters in neither the item's script nor Latin, summed over the answers.",
        "%d",
        124,
    ),
    "empty": _number("Empty", "Complete answers with no text.", "%d", 56),
    "refusals": _number("Refusals", "Answers that refuse to answer.", "%d", 70),
}


def scores_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """The summary's models with the cells the score tables show (intervals as text)."""
    rows = []
    for model in summary["models"]:
        checked = model.get("language_checked") or 0
        latin = model.get("latin_share")
        rows.append(
            {
                **model,
                "rouge1_ci": figure_interval(
                    model.get("rouge1_f1_ci_low"), model.get("rouge1_f1_ci_high")
                ),
                "rougeL_ci": figure_interval(
                    model.get("rougeL_f1_ci_low"), model.get("rougeL_f1_ci_high")
                ),
                "chrf_ci": figure_interval(model.get("chrf_ci_low"), model.get("chrf_ci_high")),
                "judge_ci": figure_interval(
                    model.get("judge_score_ci_low"), model.get("judge_score_ci_high")
                ),
                "wrong_language_text": (
                    f"{model.get('wrong_language') or 0} of {checked}" if checked else None
                ),
                "latin_share_pct": None if latin is None else 100 * latin,
            }
        )
    return pd.DataFrame(rows)


def scores_section(summary: dict[str, Any], names: dict[str, str]) -> None:
    """The automatic scores of a VLM study per model: overlap with the reference answers and
    the judge's figure, each with its 95% interval, then the language and text checks."""
    frame = scores_frame(summary)
    if frame.empty:
        st.caption("No model in this study.")
        return
    judge = summary.get("judge")
    # Whether items have references is read from the items, not from the complete answers: a
    # study still at its first answers has none scored yet, yet its items may all have one.
    referenced = summary.get("items_with_reference") or 0
    if not referenced:
        st.caption(
            "No ROUGE or chrF yet: no item has a reference answer. Add references to the set, "
            "or name a reference model whose answers stand in for them."
        )
    elif not any(m.get("with_reference") for m in summary["models"]):
        st.caption(
            f"No ROUGE or chrF yet: {referenced} of {summary['items']} items have a reference "
            "answer; their answers are scored once they are complete."
        )
    _table(frame, names, score_columns(judge))
    if judge is None:
        st.caption(
            "Judge: no judge has scored this study yet; its figures appear here once one has."
        )
    else:
        st.caption(
            f"Judge: {code_span(hide_credentials(judge['spec']))}, protocol "
            f"{judge['protocol']}, its latest verdicts. Hover a header for what a figure means."
        )
    reference = summary.get("reference")
    if reference:
        st.caption(
            f"Reference model: {code_span(hide_credentials(reference['model']))} · "
            f"{reference.get('ok', 0)} complete answers, {reference.get('errors', 0)} failed; "
            "shown apart, never ranked."
        )
    st.markdown("**Language and text checks**")
    _table(frame, names, CHECK_COLUMNS)


def _ranked_rows(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per model, best Bradley-Terry rank first (unranked models last), with the
    arena's figures beside it when the study has them."""
    models = summary["models"]
    bt_ranks = [m.get("bt_rank") for m in models]
    arena_ranks = [m.get("arena_rank") for m in models]
    rows = [
        {
            **m,
            "bt_rank_text": shared_rank(m.get("bt_rank"), bt_ranks),
            "bt_ci": figure_interval(m.get("bt_ci_low"), m.get("bt_ci_high"), ".0f"),
            "arena_rank_text": shared_rank(m.get("arena_rank"), arena_ranks),
            "arena_ci": figure_interval(m.get("arena_ci_low"), m.get("arena_ci_high"), ".0f"),
        }
        for m in models
    ]
    rows.sort(
        key=lambda r: (r.get("bt_rank") is None, r.get("bt_rank") or 0, -(r.get("bt_rating") or 0))
    )
    return pd.DataFrame(rows)


RANK_HELP = (
    "1 + the models whose whole interval lies above this one's: models whose intervals overlap "
    "share a rank, marked (tie)."
)


def ranking_columns(with_arena: bool) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "bt_rank_text": st.column_config.TextColumn("Rank", help=RANK_HELP, width=70),
        "name": _name_column("Model"),
        "bt_rating": _number(
            "Rating",
            "Bradley-Terry rating from the labels: on each item two models both labeled, the "
            "higher item score wins. Elo-like scale: the mean is 1000, +400 is 10:1 odds.",
            "%.0f",
            70,
        ),
        "bt_ci": st.column_config.TextColumn(
            "95% CI",
            help="95% bootstrap interval of the rating: the items resampled 200 times.",
            width=96,
        ),
    }
    if with_arena:
        columns |= {
            "arena_rank_text": st.column_config.TextColumn(
                "Arena rank", help=f"The same from the pairwise votes. {RANK_HELP}", width=90
            ),
            "arena_rating": _number(
                "Arena rating",
                "Bradley-Terry rating from the annotators' votes between two answers to the "
                "same item (the label queue's arena mode), same scale.",
                "%.0f",
                96,
            ),
            "arena_ci": st.column_config.TextColumn(
                "Arena 95% CI", help="95% bootstrap interval of the arena rating.", width=104
            ),
            "arena_votes": _number("Votes", "Pairwise votes counted.", "%d", 60),
        }
    return columns


def ranking_table(summary: dict[str, Any], names: dict[str, str]) -> None:
    """The models ranked by their Bradley-Terry rating from the labels, ties marked, with a
    chart of the ratings and their intervals; the arena's ranking beside it when the study
    has pairwise votes."""
    chart_key = f"study-rating-chart-{summary['study_id']}"
    frame = _ranked_rows(summary)
    if frame.empty:
        st.caption("No model in this study.")
        return
    with_arena = any(m.get("arena_rank") is not None for m in summary["models"])
    if all(m.get("bt_rank") is None for m in summary["models"]) and not with_arena:
        st.caption(
            "No ranking yet: it needs labels on the same items for at least two models. Label "
            "the answers in the label queue."
        )
        return
    rated = [m for m in summary["models"] if m.get("bt_rank") is not None]
    # The chart under the table, not beside it: in a 1000 px window two columns would cut the
    # table's columns and the chart's names.
    _table(frame, names, ranking_columns(with_arena), width="content")
    if rated:
        st.plotly_chart(rating_chart(records(frame), names), key=chart_key)
    st.caption(
        "From every annotator's labels. A rank shared by models whose intervals overlap is "
        "marked (tie): the labels cannot tell them apart yet."
    )


def _kappa_frame(pairs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["a", "b", "kappa", "n_shared"])


KAPPA_COLUMNS: dict[str, Any] = {
    "a": st.column_config.TextColumn("Annotator", width=120),
    "b": st.column_config.TextColumn("and", width=120),
    "kappa": _number(
        "Kappa",
        "Cohen's kappa with linear weights: 1 = the same labels, 0 = chance. Relevant against "
        "irrelevant weighs twice a one-step disagreement.",
        "%.2f",
        70,
    ),
    "n_shared": _number("Shared answers", "Answers both labeled.", "%d", 110),
}


def _figure(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.2f}"


def agreement_block(summary: dict[str, Any]) -> None:
    """How far the annotators agree with each other, and the judge with them."""
    agreement = summary["agreement"]
    alpha = agreement.get("alpha")
    n_items = agreement.get("n_items") or 0
    # The kappa table under alpha, not beside it: in a 1000 px window a column beside alpha
    # would cut the table.
    st.metric(
        "Krippendorff's alpha",
        _figure(alpha),
        help="Ordinal (irrelevant < partial < relevant) over the answers two or more "
        "annotators labeled: 1 = they always agree, 0 = what chance gives.",
    )
    if alpha is not None:
        st.caption(f"Over {_count(n_items, 'answer')} labeled by two or more annotators.")
    elif n_items:
        st.caption(
            f"Undefined over {_count(n_items, 'answer')}: every label there is the same, so "
            "no disagreement was possible."
        )
    else:
        st.caption("Needs two annotators on the same answers.")
    pairs = agreement.get("kappa_pairs") or []
    st.markdown("**Cohen's kappa per pair of annotators**")
    if pairs:
        st.dataframe(
            _kappa_frame(pairs),
            hide_index=True,
            column_order=list(KAPPA_COLUMNS),
            column_config=KAPPA_COLUMNS,
            placeholder=EMPTY_CELL,
            width="content",
        )
        st.caption("– : they share no answer, or each gave one label throughout.")
    else:
        st.caption("Needs two annotators: one has labeled these answers, or none yet.")
    judge = agreement.get("judge")
    st.markdown("**The judge against the people**")
    if summary.get("kind") == "tts":
        st.caption("Voice studies have no judge: the WER scores the clips.")
    elif judge is None:
        st.caption(
            "No judge has scored this study. Once one has, this compares its scores with the "
            "labels on the same answers."
        )
    else:
        row = st.container(horizontal=True)
        row.metric(
            "Spearman",
            _figure(judge.get("spearman")),
            help="Rank correlation of the judge's scores (1–10) with the labels on the same "
            "answers: 1 = the same order.",
            width="content",
        )
        row.metric(
            "Kappa",
            _figure(judge.get("kappa")),
            help="Cohen's kappa (linear) between the labels and the judge's scores read as "
            "labels: below 4 irrelevant, 4–7 partial, 8 and up relevant.",
            width="content",
        )
        row.metric("Label pairs", judge.get("n") or 0, width="content")
        st.caption(
            f"Judge {code_span(hide_credentials(judge['judge']))} "
            f"({judge.get('protocol', 'reference')}): "
            "each counted label beside its score of the same answer. – : no such pair yet, or "
            "one side is the same throughout."
        )


def ranking_and_agreement(summary: dict[str, Any], names: dict[str, str]) -> None:
    """A study's ranking and agreement, as the Studies page and the leaderboard show them."""
    st.markdown("**Ranking**")
    ranking_table(summary, names)
    st.markdown("**Agreement**")
    agreement_block(summary)


# Per item -------------------------------------------------------------------------------------


@st.fragment  # choosing a page or an item redraws this section alone
def per_item_section(app: Lineup, tables: StudyTables, names: dict[str, str]) -> None:
    """The model × item grid of label scores, a page of HEATMAP_ITEMS items at a time, then
    the answers to one of those items side by side, chosen below it."""
    per_item = tables.per_item
    models = [c for c in per_item.columns if c not in ("item_id", "position", "text", "reference")]
    if per_item.empty or not models:
        st.caption("The set has no items.")
        return
    pages = -(-len(per_item) // HEATMAP_ITEMS)
    grid_area = st.container()  # above the page numbers, which choose what it shows
    page = st.pagination(pages, key=f"study-grid-page-{tables.study.id}") if pages > 1 else 1
    shown = per_item.iloc[(page - 1) * HEATMAP_ITEMS : page * HEATMAP_ITEMS]
    with grid_area:
        if pages > 1:
            first = (page - 1) * HEATMAP_ITEMS
            st.caption(f"Items {first + 1}–{first + len(shown)} of {len(per_item)}")
        if shown[models].notna().to_numpy().any():
            st.plotly_chart(item_heatmap(shown, models, names), key="study-item-heatmap")
        else:
            st.caption(
                "No grid yet: none of these items has a labeled answer. Each cell will be the "
                "score of a model's answers to an item: relevant 1, partial ½, irrelevant 0."
            )
    item_answers(app, tables, shown, names, models)


def item_answers(
    app: Lineup,
    tables: StudyTables,
    shown: pd.DataFrame,
    names: dict[str, str],
    models: Sequence[str],
) -> None:
    """One item of those the grid shows (its image, question, reference) and every model's
    answers to it."""
    items = {
        int(row.item_id): (int(row.position), str(row.text), row.reference)
        for row in shown.itertuples(index=False)
    }
    key = f"study-item-{tables.study.id}"
    if st.session_state.get(key) not in items:
        st.session_state.pop(key, None)
    item_id = st.selectbox(
        "Answers to item",
        list(items),
        format_func=lambda i: item_label(items[i][0], items[i][1]),
        key=key,
        help="Every model's answers to this item, side by side, with their labels.",
    )
    if item_id is None:
        return
    ids = [tables.per_item_ids.get((item_id, model), ()) for model in models]
    first = next((g for group in ids for g in group), None)
    run = app.run_of(first) if first is not None else None
    _, text, reference = items[item_id]
    _item_head(app, run, text, reference, tables.study.kind)
    _reference_answer(app, tables.study, item_id)
    if tables.study.blind:
        st.caption(
            ":material/visibility: A blind study: the label queue hides the names while you "
            "label; this page shows them."
        )
    if run is None:
        st.caption("No answer to this item yet.")
        return
    by_id = {g.id: g for g in run.generations}
    with_answers = [(m, group) for m, group in zip(models, ids, strict=True) if group]
    for start in range(0, len(with_answers), MAX_PER_ROW):
        row = with_answers[start : start + MAX_PER_ROW]
        for column, (model, group) in zip(
            st.columns(min(len(with_answers), MAX_PER_ROW), gap="small"), row, strict=False
        ):
            with column, st.container(border=True):
                st.markdown(f"**{escape_markdown(names[model])}**")
                for generation_id in group:
                    generation = by_id.get(generation_id)
                    if generation is not None:
                        _answer(app, generation, tables.study)


def _reference_answer(app: Lineup, study: StudyInfo, item_id: int) -> None:
    """The reference model's answer to the item, apart from the models' (never ranked)."""
    if study.kind != "vlm":
        return
    answer = app.reference_answers(study.id).get(item_id)
    reference = app.reference_of(study.id) if answer is not None else None
    if answer is None or reference is None:
        return
    with st.container(border=True):
        st.caption(
            f":material/star: Reference model {code_span(reference.models[0])}: shown "
            "apart, never ranked; the item's reference where the set has none."
        )
        render_answer(answer)


def _item_head(app: Lineup, run: Run | None, text: str, reference: str | None, kind: str) -> None:
    image = app.media_path(run.image_hash) if run is not None and run.image_hash else None
    if image is not None:
        left, right = st.columns([1, 3], gap="medium")
        left.image(str(image), width="stretch")
    else:
        right = st.container()
    with right:
        st.caption("Sentence" if kind == "tts" else "Question")
        show_text(text)
        if reference:
            st.caption("Reference answer")
            show_text(reference)


def _answer(app: Lineup, generation: Generation, study: StudyInfo) -> None:
    if study.repeats > 1:
        st.caption(
            f"{'Sample' if study.kind == 'tts' else 'Repeat'} {(generation.repeat or 0) + 1}"
        )
    if study.kind == "tts":
        clip = app.media_path(generation.audio_hash) if generation.audio_hash else None
        if clip is not None:
            st.audio(str(clip))
        if generation.status != OK:
            st.caption(escape_markdown(generation.error or generation.status, keep_code=True))
        elif generation.transcript is not None:
            wer = f" (WER {100 * generation.wer:.0f}%)" if generation.wer is not None else ""
            st.caption(f"Heard{wer}: {escape_markdown(generation.transcript)}")
    else:
        draw_column(ColumnView.of_generation(generation))
    said = words(study.kind)
    labels = sorted(
        (label for label in generation.labels if label.counted), key=lambda label: label.annotator
    )
    if labels:
        st.caption(
            "Labels: "
            + ", ".join(
                f"{escape_markdown(lab.annotator)} {said[lab.relevance].lower()}" for lab in labels
            )
        )


# Voices: the transcripts side by side ---------------------------------------------------------


def transcripts_table(tables: StudyTables, names: dict[str, str]) -> None:
    frame = tables.transcripts
    voices = [c for c in frame.columns if c not in ("item_id", "position", "text", "repeat")]
    shown = frame.assign(number=frame["position"] + 1, sample=frame["repeat"] + 1)
    columns: dict[str, Any] = {
        "number": st.column_config.NumberColumn(
            "#", help="The sentence's place in the set.", format="%d", width=40, pinned=True
        ),
        "text": st.column_config.TextColumn("Sentence", width=SENTENCE_PX, pinned=True),
    }
    left_px = TABLE_PX - 40 - SENTENCE_PX
    if tables.study.repeats > 1:
        columns["sample"] = _number("Sample", "The clip's sample number.", "%d", 64)
        left_px -= 64
    # The voices share what is left of the window; past a few voices the table scrolls.
    voice_px = max(MIN_TRANSCRIPT_PX, left_px // max(len(voices), 1))
    for voice in voices:
        columns[voice] = st.column_config.TextColumn(
            names[voice],
            help=f"What the STT model heard of {hide_credentials(voice)}.",
            width=voice_px,
        )
    st.dataframe(
        shown,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        placeholder=EMPTY_CELL,
    )


# The list of studies --------------------------------------------------------------------------


def studies_frame(studies: Sequence[StudyInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": s.id,
                "set": s.set_name,
                "kind": "Voices" if s.kind == "tts" else "VLM",
                "models": len(s.models),
                "repeats": s.repeats,
                "status": s.status,
                "created": _naive(s.created_at),
                "finished": _naive(s.finished_at),
            }
            for s in studies
        ],
        columns=["id", "set", "kind", "models", "repeats", "status", "created", "finished"],
    )


def _naive(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=None) if moment is not None else None


STUDY_LIST_COLUMNS: dict[str, Any] = {
    "id": _number("Study", "The study's id (its page: ?study=ID).", "%d", 60),
    "set": st.column_config.TextColumn("Set", width=220),
    "kind": st.column_config.TextColumn("Kind", width=70),
    "models": _number("Models", "Models or voices.", "%d", 70),
    "repeats": _number("Repeats", "Repeats (samples for voices) per item.", "%d", 70),
    "status": st.column_config.TextColumn("Status", width=90),
    "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm", width=140),
    "finished": st.column_config.DatetimeColumn("Finished", format="YYYY-MM-DD HH:mm", width=140),
}


def studies_table(studies: Sequence[StudyInfo]) -> None:
    st.dataframe(
        studies_frame(studies),
        hide_index=True,
        column_order=list(STUDY_LIST_COLUMNS),
        column_config=STUDY_LIST_COLUMNS,
        placeholder=EMPTY_CELL,
    )

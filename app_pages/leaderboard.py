"""Leaderboard: labels and speed per model, as a table, a chart and a CSV file; filtered to one
study, that study's ranking and agreement under it."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import pandas as pd
import streamlit as st

from components.charts import (
    display_names,
    failures_text,
    hide_credentials,
    interval_text,
    pct_relevant_chart,
    wer_chart,
)
from components.context import get_lineup
from components.exports import csv_download, streamed_csv_download
from components.leaderboard_filters import filter_bar
from components.study_view import ranking_and_agreement
from lineup.markup import escape_markdown
from lineup.service import ExportTable, LeaderboardFilter, Lineup, RunKind

EMPTY_CELL = "–"
# Widths in px: every figure fits a 1400 px window beside the sidebar (about 930 px of table);
# the failure states and the full spec come last, where they may run past the right edge.
NAME_PX, COUNT_PX, PCT_PX, CI_PX = 230, 66, 80, 72

NAME_HELP = "A short name; the full spec is in the last column."
FAILED_HELP = (
    "Generations that did not end as a complete answer: error, timeout, cancelled (Stop "
    "pressed) or interrupted (the process died or was stopped); by state in the column "
    "before last. They are never labeled, timed or counted in any other column."
)
STATES_HELP = "The failed generations by state."
CI_HELP = "95% Wilson score interval of % {what}: where the true rate lies, given so few labels."
SPEED_SCOPE = "Median over complete answers that have both a TTFT and a total."


def number(label: str, definition: str, fmt: str, width: int) -> Any:
    return st.column_config.NumberColumn(label, help=definition, format=fmt, width=width)


def text(label: str, definition: str, width: int | Literal["small", "medium", "large"]) -> Any:
    return st.column_config.TextColumn(label, help=definition, width=width)


VLM_COLUMNS: dict[str, Any] = {
    "name": st.column_config.TextColumn("Model", help=NAME_HELP, width=NAME_PX, pinned=True),
    "pct_relevant": number(
        "% relevant", "Labels 'Relevant' / labels counted × 100.", "%.0f%%", PCT_PX
    ),
    "ci_text": text("95% CI", CI_HELP.format(what="relevant"), CI_PX),
    "n": number(
        "Labeled",
        "Labels counted: each annotator's latest label on each complete answer.",
        "%d",
        COUNT_PX,
    ),
    "median_ttft_s": number(
        "Median TTFT (s)",
        "Time to first token: from sending the request to the first chunk with answer text "
        f"(an empty or role-only chunk and reasoning text do not count). {SPEED_SCOPE}",
        "%.2f",
        116,
    ),
    "median_total_s": number(
        "Median total (s)",
        f"From sending the request to the last chunk. {SPEED_SCOPE} An answer sent as one "
        "chunk has TTFT = total.",
        "%.2f",
        118,
    ),
    "median_tokens_per_s": number(
        "Median tok/s",
        "Decode speed: the server's own figure where it reports one, else (output tokens − 1) "
        "/ (total − TTFT). A one-chunk answer has none. Median over complete answers with one.",
        "%.1f",
        102,
    ),
    "ok": number(
        "Answers", "Complete answers (state ok): only these are labeled and timed.", "%d", 70
    ),
    "failed": number("Failed", FAILED_HELP, "%d", 60),
    "states_text": text("Failed, by state", STATES_HELP, 150),
    "spec": text("Spec", "The model spec as stored.", "large"),
}

WER_HELP = (
    "Word error rate of a clip's transcript (by the STT model) against its sentence, both "
    "normalised: lower case, punctuation but the apostrophe removed, numbers written out."
)
TTS_COLUMNS: dict[str, Any] = {
    "name": st.column_config.TextColumn("Voice", help=NAME_HELP, width=NAME_PX, pinned=True),
    "mean_wer_pct": number(
        "Mean WER", f"{WER_HELP} Mean over the clips with a transcript.", "%.1f%%", 80
    ),
    "corpus_wer_pct": number(
        "Corpus WER",
        "Total word errors / total reference words over the same clips: long sentences weigh "
        "more than in the mean.",
        "%.1f%%",
        90,
    ),
    "pct_relevant": number(
        "% correct", "Labels 'Correct' / labels counted × 100.", "%.0f%%", PCT_PX
    ),
    "ci_text": text("95% CI", CI_HELP.format(what="correct"), CI_PX),
    "labeled": number(
        "Labeled",
        "Labels counted: each annotator's latest label on each complete clip.",
        "%d",
        COUNT_PX,
    ),
    "median_rtf": number(
        "Median RTF",
        "Real-time factor: generation seconds / audio seconds (below 1 is faster than real "
        "time). Median over complete clips.",
        "%.3f",
        88,
    ),
    "median_gen_s": number(
        "Median gen (s)", "Seconds to synthesize a clip; median over complete clips.", "%.2f", 106
    ),
    "n": number(
        "Clips",
        "Complete clips (state ok): only these are scored, timed and labeled.",
        "%d",
        56,
    ),
    "failed": number("Failed", FAILED_HELP, "%d", 60),
    "wer_sd_pct": number(
        "WER sd",
        "Sample standard deviation of the clips' WERs (needs two clips), in the chart as ± 1 sd.",
        "%.1f%%",
        70,
    ),
    "mean_cer_pct": number(
        "Mean CER",
        "Character error rate, normalised as WER; mean over the same clips.",
        "%.1f%%",
        84,
    ),
    "peak_mem_mb": number(
        "Peak mem (MB)",
        "The largest memory peak of a clip, for engines that run in this process; – for others.",
        "%.0f",
        110,
    ),
    "states_text": text("Failed, by state", STATES_HELP, 150),
    "spec": text("Spec", "The voice spec as stored.", "large"),
}


def percent(values: pd.Series) -> pd.Series:
    """Error rates as percentages, the unit of the chart."""
    return 100 * values.astype(float)


def table(rows: list[dict[str, Any]], name_key: str, columns: dict[str, Any]) -> dict[str, str]:
    """Show the leaderboard rows with human headers; returns the short name of each spec."""
    names = display_names(r[name_key] for r in rows)
    frame = pd.DataFrame(rows).assign(
        name=[names[r[name_key]] for r in rows],
        spec=[hide_credentials(r[name_key]) for r in rows],
        states_text=[failures_text(r) for r in rows],
        ci_text=[interval_text(r["pct_relevant_ci_low"], r["pct_relevant_ci_high"]) for r in rows],
    )
    if "mean_wer" in frame:
        frame = frame.assign(
            mean_wer_pct=percent(frame["mean_wer"]),
            wer_sd_pct=percent(frame["wer_std"]),
            corpus_wer_pct=percent(frame["corpus_wer"]),
            mean_cer_pct=percent(frame["mean_cer"]),
        )
    st.dataframe(
        frame,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        placeholder=EMPTY_CELL,
    )
    return names


def export(rows: list[dict[str, Any]], name_key: str) -> pd.DataFrame:
    """The rows as they are, for a CSV file, with no password of a spec's URL."""
    return pd.DataFrame(rows).assign(**{name_key: [hide_credentials(r[name_key]) for r in rows]})


def study_section(app: Lineup, board_filter: LeaderboardFilter, kind: RunKind) -> None:
    """Under a board: the ranking and agreement of the study the filter names, when it is of
    this board's kind; without a study filter, where to find them (nothing is computed)."""
    if board_filter.study_id is None:
        st.caption(
            "Rankings (Bradley-Terry, with intervals) and annotator agreement are per study: "
            "choose a study in the filters to see them here."
        )
        return
    info = app.study(board_filter.study_id)
    if info is None:
        return
    if info.kind != kind:
        other = "Voices" if info.kind == "tts" else "VLMs"
        st.caption(f"Study #{info.id}'s ranking and agreement are under {other}.")
        return
    st.subheader(f"Study #{info.id} · {escape_markdown(info.set_name)}", anchor=False)
    st.caption(
        "Over the whole study and every annotator's labels: the other filters do not narrow "
        "the ranking or the agreement."
    )
    ranking_and_agreement(app.study_summary(info.id), display_names(info.models))


app = get_lineup()
st.title("Leaderboard")
st.caption(
    "Only complete answers count: failed, timed-out, stopped and interrupted ones are listed "
    "under Failed and nowhere else. Hover a column header for its definition; – means no "
    "figure yet."
)

board_filter = filter_bar(app)
NO_MATCH = "No {what} match the filters: widen them, or clear them."

vlm_tab, tts_tab, raw_tab = st.tabs(["VLMs", "Voices", "All rows"])

with vlm_tab:
    rows = app.leaderboard("vlm", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(NO_MATCH.format(what="VLM answers"), icon=":material/filter_alt:")
    elif not rows:
        st.info("Nothing yet: run a comparison on the Compare VLMs page.")
    else:
        names = table(rows, "model", VLM_COLUMNS)
        if any(r["n"] for r in rows):
            st.plotly_chart(pct_relevant_chart(rows, names), key="vlm-chart")
        else:
            st.caption(
                "No chart yet: no complete answer has a label. Label answers on a Compare page."
            )
        csv_download(export(rows, "model"), "Download CSV", "lineup-vlm-leaderboard.csv", "vlm-csv")
    study_section(app, board_filter, "vlm")

with tts_tab:
    rows = app.leaderboard("tts", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(NO_MATCH.format(what="voice clips"), icon=":material/filter_alt:")
    elif not rows:
        st.info("Nothing yet: run a comparison on the Compare voices page.")
    else:
        names = table(rows, "voice", TTS_COLUMNS)
        if any(r["mean_wer"] is not None for r in rows):
            st.plotly_chart(wer_chart(rows, names), key="tts-chart")
        else:
            st.caption("No chart yet: no clip has been transcribed, so there is no WER.")
        csv_download(export(rows, "voice"), "Download CSV", "lineup-tts-leaderboard.csv", "tts-csv")
    study_section(app, board_filter, "tts")

with raw_tab:
    st.caption(
        "Every stored generation and every label, as they are in the store, for your own "
        "analysis. Labels carry the generation id they belong to."
    )
    kinds: list[tuple[RunKind, str]] = [("vlm", "VLM answers"), ("tts", "Voice clips")]
    raw_tables: list[tuple[ExportTable, str]] = [("generations", "rows"), ("labels", "labels")]
    for kind, title in kinds:
        for where, (export_table, noun) in zip(st.columns(2), raw_tables, strict=True):
            count = app.export_count(kind, export_table)
            streamed_csv_download(
                f"{title}: {count} {noun} (CSV)",
                app.export_columns(export_table),
                partial(app.export_rows, kind, export_table),
                f"lineup-{kind}-{export_table}.csv",
                f"{kind}-{export_table}-csv",
                disabled=count == 0,
                where=where,
            )

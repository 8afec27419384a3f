"""Leaderboard: labels and speed per model, as a table, a chart and a CSV file; filtered to one
study, that study's ranking and agreement under it."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from components.charts import (
    failures_text,
    interval_text,
    pct_relevant_chart,
    wer_chart,
)
from components.context import get_lineup
from components.exports import csv_download, streamed_csv_download
from components.leaderboard_filters import filter_bar
from components.stats import contention_badge
from components.study import ranking_and_agreement
from lineup.app import (
    ExportTable,
    LeaderboardFilter,
    Lineup,
    RunKind,
    card_line,
    escape_markdown,
    hide_credentials,
    short_names,
)

EMPTY_CELL = "–"
# Widths in px. Each table fits the narrowest main area it meets, about 540 px beside the
# sidebar in a 1000 px window: no column is cut at the right edge and nothing scrolls
# sideways. So the figures are in a few narrow tables rather than one wide one, and the full
# specs and the failures by state are listed under them.
NAME_PX, COUNT_PX, PCT_PX, CI_PX = 190, 60, 80, 72

NAME_HELP = "A short name; the full spec is listed under the tables."
FAILED_HELP = (
    "Generations that did not end as a complete answer: error, timeout, cancelled (Stop "
    "pressed) or interrupted (the process died or was stopped); by state under the tables. "
    "They are never labeled, timed or counted in any other column."
)
CI_HELP = (
    "95% Wilson score interval of % {what}: where the true rate lies, given so few labels. "
    "The rows are ranked by its lower end."
)
SPEED_SCOPE = (
    "Median over warm complete answers (not known to be cold) that have both a TTFT and a total."
)
VLM_ORDER = (
    "Ranked by the lower end of its 95% interval of % relevant, not by % relevant itself: "
    "one label at 100% has the interval 21–100%, so it ranks below 47 of 56 labels (84%, "
    "72–91%). Hover a header for its definition; – means no figure yet."
)
TTS_ORDER = (
    "Ranked by mean WER, lowest first. Hover a header for its definition; – means no figure yet."
)


CONTENTION_HELP = (
    "The most other requests Lineup had in flight on the same host during one of these "
    "complete answers (0: each ran alone there). Filter on Measured alone for figures "
    "measured alone."
)


def number(label: str, definition: str, fmt: str, width: int) -> Any:
    return st.column_config.NumberColumn(label, help=definition, format=fmt, width=width)


def text(label: str, definition: str, width: int) -> Any:
    return st.column_config.TextColumn(label, help=definition, width=width)


def name_column(label: str) -> Any:
    return st.column_config.TextColumn(label, help=NAME_HELP, width=NAME_PX, pinned=True)


def label_columns(what: str, answers_help: str) -> dict[str, Any]:
    """% relevant (or correct), its interval, the labels and the answers they are on."""
    word = what.capitalize()
    return {
        "pct_relevant": number(
            f"% {what}", f"Labels '{word}' / labels counted × 100.", "%.0f%%", PCT_PX
        ),
        "ci_text": text("95% CI", CI_HELP.format(what=what), CI_PX),
        "labels": number(
            "Labels",
            "Labels counted: each annotator's latest label on each complete answer.",
            "%d",
            COUNT_PX,
        ),
        "answers": number("Answers", answers_help, "%d", 68),
        "failed": number("Failed", FAILED_HELP, "%d", 60),
    }


VLM_SPEED: dict[str, Any] = {
    "name": name_column("Model"),
    "median_ttft_s": number(
        "TTFT (s)",
        "Median time to first token: from sending the request to the first chunk with answer "
        "text (an empty or role-only chunk and reasoning text do not count). "
        f"{SPEED_SCOPE}",
        "%.2f",
        84,
    ),
    "median_total_s": number(
        "Total (s)",
        f"Median time from sending the request to the last chunk. {SPEED_SCOPE} An answer "
        "sent as one chunk has TTFT = total.",
        "%.2f",
        84,
    ),
    "median_tokens_per_s": number(
        "Tokens/s",
        "Median decode speed: the server's own figure where it reports one, else (output "
        "tokens − 1) / (total − TTFT). A one-chunk answer has none. Median over complete "
        "answers with one.",
        "%.1f",
        84,
    ),
    "concurrent_max": number("In flight", CONTENTION_HELP, "%d", 80),
}

WER_HELP = (
    "Word error rate of a clip's transcript (by the STT model) against its sentence, both "
    "normalised: lower case, punctuation but the apostrophe removed, numbers written out."
)
TTS_WER: dict[str, Any] = {
    "name": name_column("Voice"),
    "mean_wer_pct": number(
        "Mean WER", f"{WER_HELP} Mean over the clips with a transcript.", "%.1f%%", 84
    ),
    "wer_sd_pct": number(
        "WER sd",
        "Sample standard deviation of the clips' WERs (needs two clips), in the chart as ± 1 sd.",
        "%.1f%%",
        72,
    ),
    "corpus_wer_pct": number(
        "Corpus WER",
        "Total word errors / total reference words over the same clips: long sentences weigh "
        "more than in the mean.",
        "%.1f%%",
        90,
    ),
    "mean_cer_pct": number(
        "Mean CER",
        "Character error rate, normalised as WER; mean over the same clips.",
        "%.1f%%",
        84,
    ),
}
TTS_SPEED: dict[str, Any] = {
    "name": name_column("Voice"),
    "median_rtf": number(
        "Median RTF",
        "Real-time factor: generation seconds / audio seconds (below 1 is faster than real "
        "time). Median over complete clips.",
        "%.3f",
        96,
    ),
    "median_gen_s": number(
        "Median gen (s)", "Seconds to synthesize a clip; median over complete clips.", "%.2f", 112
    ),
    "peak_mem_mb": number(
        "Peak mem (MB)",
        "The largest memory peak of a clip, for engines that run in this process; – for others.",
        "%.0f",
        112,
    ),
}
# Each board's tables, in order: a title (none for the first) and the columns.
VLM_TABLES: list[tuple[str | None, dict[str, Any]]] = [
    (
        None,
        {
            "name": name_column("Model"),
            **label_columns(
                "relevant", "Complete answers (state ok): only these are labeled and timed."
            ),
        },
    ),
    ("Speed · medians over warm complete answers (the cold ones apart, below)", VLM_SPEED),
]
TTS_TABLES: list[tuple[str | None, dict[str, Any]]] = [
    (None, TTS_WER),
    (
        "Labels",
        {
            "name": name_column("Voice"),
            **label_columns(
                "correct", "Complete clips (state ok): only these are scored, timed and labeled."
            ),
        },
    ),
    ("Speed · medians over warm clips (the cold ones apart, below)", TTS_SPEED),
]


def percent(values: pd.Series) -> pd.Series:
    """Error rates as percentages, the unit of the chart."""
    return 100 * values.astype(float)


def tables(
    rows: list[dict[str, Any]], name_key: str, shown: list[tuple[str | None, dict[str, Any]]]
) -> dict[str, str]:
    """Show the leaderboard rows in narrow tables with human headers, in the rows' order (the
    facade ranks them), then each model's full spec and failures by state; returns the short
    name of each spec."""
    names = short_names(r[name_key] for r in rows)
    frame = pd.DataFrame(rows).assign(
        name=[names[r[name_key]] for r in rows],
        ci_text=[interval_text(r["pct_relevant_ci_low"], r["pct_relevant_ci_high"]) for r in rows],
    )
    if "mean_wer" in frame:
        frame = frame.assign(
            mean_wer_pct=percent(frame["mean_wer"]),
            wer_sd_pct=percent(frame["wer_std"]),
            corpus_wer_pct=percent(frame["corpus_wer"]),
            mean_cer_pct=percent(frame["mean_cer"]),
        )
    for title, config in shown:
        if title:
            st.caption(f"**{title}**")
        if title and title.startswith("Speed"):  # its words name each model's range
            contention_badge(
                [(names[r[name_key]], r["concurrent_min"], r["concurrent_max"]) for r in rows]
            )
        st.dataframe(
            frame,
            hide_index=True,
            column_order=list(config),
            column_config=config,
            placeholder=EMPTY_CELL,
            width=sum(c["width"] for c in config.values()) + 2,  # + the grid's border
        )
        if title and title.startswith("Speed"):
            st.caption(cold_line(rows, name_key, names))
    with st.expander("Full specs and failures by state"):
        st.markdown(
            "\n".join(
                f"- **{names[r[name_key]]}**: `{hide_credentials(r[name_key])}`"
                + (f" · failed: {failures}" if (failures := failures_text(r)) else "")
                for r in rows
            )
        )
    return names


def cold_line(rows: list[dict[str, Any]], name_key: str, names: dict[str, str]) -> str:
    """The answers kept out of the speed medians because they included a model load
    (lineup.measure.timing.cold_start): how many per model, and their own median."""
    cold = [r for r in rows if r.get("cold_answers")]
    if not cold:
        return "Cold answers (that included a model load): none among these."
    said = []
    for row in cold:
        if "cold_median_ttft_s" in row and row.get("cold_median_ttft_s") is not None:
            median = f", median TTFT {row['cold_median_ttft_s']:.2f} s"
        elif row.get("cold_median_rtf") is not None:
            median = f", median RTF {row['cold_median_rtf']:.2f}"
        else:
            median = ""
        said.append(f"{escape_markdown(names[row[name_key]])} {row['cold_answers']}{median}")
    return "Cold answers, kept out of the medians above: " + "; ".join(said) + "."


def provenance_section(app: Lineup, rows: list[dict[str, Any]], name_key: str) -> None:
    """Each model's latest card: what its server or engine said about itself when last asked."""
    names = short_names(r[name_key] for r in rows)
    cards = app.leaderboard.provenance(r[name_key] for r in rows)
    with st.expander("What ran where (each model's latest card)", icon=":material/dns:"):
        for row in rows:
            model = row[name_key]
            card = escape_markdown(card_line(cards.get(model)))
            st.caption(f"**{escape_markdown(names[model])}**: {card}")


def export(rows: list[dict[str, Any]], name_key: str) -> pd.DataFrame:
    """The rows as they are (ranked, counts named labels and answers), for a CSV file, with no
    password of a spec's URL."""
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
    info = app.studies.get(board_filter.study_id)
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
    ranking_and_agreement(app.studies.summary(info.id), short_names(info.models))


app = get_lineup()
st.title("Leaderboard")
st.caption(
    "Only complete answers count: failed, timed-out, stopped and interrupted ones are listed "
    "under Failed and nowhere else."
)

board_filter = filter_bar(app)
NO_MATCH = "No {what} match the filters: widen them, or clear them."

vlm_tab, tts_tab, raw_tab = st.tabs(["VLMs", "Voices", "All rows"])

with vlm_tab:
    rows = app.leaderboard.rows("vlm", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(NO_MATCH.format(what="VLM answers"), icon=":material/filter_alt:")
    elif not rows:
        st.info("Nothing yet: run a comparison on the Compare VLMs page.")
    else:
        st.caption(VLM_ORDER)
        names = tables(rows, "model", VLM_TABLES)
        if any(r["labels"] for r in rows):
            st.plotly_chart(pct_relevant_chart(rows, names), key="vlm-chart")
        else:
            st.caption(
                "No chart yet: no complete answer has a label. Label answers on a Compare page."
            )
        provenance_section(app, rows, "model")
        csv_download(export(rows, "model"), "Download CSV", "lineup-vlm-leaderboard.csv", "vlm-csv")
    study_section(app, board_filter, "vlm")

with tts_tab:
    rows = app.leaderboard.rows("tts", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(NO_MATCH.format(what="voice clips"), icon=":material/filter_alt:")
    elif not rows:
        st.info("Nothing yet: run a comparison on the Compare voices page.")
    else:
        st.caption(TTS_ORDER)
        names = tables(rows, "voice", TTS_TABLES)
        if any(r["mean_wer"] is not None for r in rows):
            st.plotly_chart(wer_chart(rows, names), key="tts-chart")
        else:
            st.caption("No chart yet: no clip has been transcribed, so there is no WER.")
        provenance_section(app, rows, "voice")
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
            count = app.leaderboard.export_count(kind, export_table)
            streamed_csv_download(
                f"{title}: {count} {noun} (CSV)",
                app.leaderboard.export_columns(export_table),
                partial(app.leaderboard.export_rows, kind, export_table),
                f"lineup-{kind}-{export_table}.csv",
                f"{kind}-{export_table}-csv",
                disabled=count == 0,
                where=where,
            )

"""Leaderboard: labels and speed per model, as a table, a chart and a CSV file; filtered to one
study, that study's ranking and agreement under it."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from components.charts import (
    chart,
    failures_text,
    interval_text,
    pct_relevant_chart,
    wer_chart,
)
from components.context import get_lineup
from components.exports import csv_download, streamed_csv_download
from components.leaderboard_filters import filter_bar
from components.stats import contention_badge
from components.study import ranking_and_agreement, said_columns
from components.tables import dataframe
from lineup.app import (
    N_,
    ExportTable,
    LeaderboardFilter,
    Lineup,
    RunKind,
    _,
    card_line,
    escape_markdown,
    hide_credentials,
    short_names,
)
from lineup.app import number as number_text

EMPTY_CELL = "–"
# Widths in px. Each table fits the narrowest main area it meets, about 540 px beside the
# sidebar in a 1000 px window: no column is cut at the right edge and nothing scrolls
# sideways. So the figures are in a few narrow tables rather than one wide one, and the full
# specs and the failures by state are listed under them.
NAME_PX, COUNT_PX, PCT_PX, CI_PX = 190, 60, 80, 72

# Headers and definitions are marked (N_) and said when a table is drawn (said_columns).
NAME_HELP = N_("A short name; the full spec is listed under the tables.")
FAILED_HELP = N_(
    "Generations that did not end as a complete answer: error, timeout, cancelled (Stop "
    "pressed) or interrupted (the process died or was stopped); by state under the tables. "
    "They are never labeled, timed or counted in any other column."
)
VLM_ORDER = N_(
    "Ranked by the lower end of its 95% interval of % relevant, not by % relevant itself: "
    "one label at 100% has the interval 21–100%, so it ranks below 47 of 56 labels (84%, "
    "72–91%). Hover a header for its definition; – means no figure yet."
)
TTS_ORDER = N_(
    "Ranked by mean WER, lowest first. Hover a header for its definition; – means no figure yet."
)


CONTENTION_HELP = N_(
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


def label_columns(voices: bool, answers_help: str) -> dict[str, Any]:
    """% relevant (or correct), its interval, the labels and the answers they are on."""
    return {
        "pct_relevant": (
            number(
                N_("% correct"), N_("Labels 'Correct' / labels counted × 100."), "%.0f%%", PCT_PX
            )
            if voices
            else number(
                N_("% relevant"), N_("Labels 'Relevant' / labels counted × 100."), "%.0f%%", PCT_PX
            )
        ),
        "ci_text": text(
            N_("95% CI"),
            N_(
                "95% Wilson score interval of % correct: where the true rate lies, given so few "
                "labels. The rows are ranked by its lower end."
            )
            if voices
            else N_(
                "95% Wilson score interval of % relevant: where the true rate lies, given so "
                "few labels. The rows are ranked by its lower end."
            ),
            CI_PX,
        ),
        "labels": number(
            N_("Labels"),
            N_("Labels counted: each annotator's latest label on each complete answer."),
            "%d",
            COUNT_PX,
        ),
        "answers": number(N_("Answers"), answers_help, "%d", 68),
        "failed": number(N_("Failed"), FAILED_HELP, "%d", 60),
    }


VLM_SPEED: dict[str, Any] = {
    "name": name_column(N_("Model")),
    "median_ttft_s": number(
        N_("TTFT (s)"),
        N_(
            "Median time to first token: from sending the request to the first chunk with "
            "answer text (an empty or role-only chunk and reasoning text do not count). Median "
            "over warm complete answers (not known to be cold) that have both a TTFT and a total."
        ),
        "%.2f",
        84,
    ),
    "median_total_s": number(
        N_("Total (s)"),
        N_(
            "Median time from sending the request to the last chunk. Median over warm complete "
            "answers (not known to be cold) that have both a TTFT and a total. An answer sent "
            "as one chunk has TTFT = total."
        ),
        "%.2f",
        84,
    ),
    "median_tokens_per_s": number(
        N_("Tokens/s"),
        N_(
            "Median decode speed: the server's own figure where it reports one, else (output "
            "tokens − 1) / (total − TTFT). A one-chunk answer has none. Median over complete "
            "answers with one."
        ),
        "%.1f",
        84,
    ),
    "concurrent_max": number(N_("In flight"), CONTENTION_HELP, "%d", 80),
}

TTS_WER: dict[str, Any] = {
    "name": name_column(N_("Voice")),
    "mean_wer_pct": number(
        N_("Mean WER"),
        N_(
            "Word error rate of a clip's transcript (by the STT model) against its sentence, "
            "both normalised: lower case, punctuation but the apostrophe removed, numbers "
            "written out. Mean over the clips with a transcript."
        ),
        "%.1f%%",
        84,
    ),
    "wer_sd_pct": number(
        N_("WER sd"),
        N_(
            "Sample standard deviation of the clips' WERs (needs two clips), in the chart as "
            "± 1 sd."
        ),
        "%.1f%%",
        72,
    ),
    "corpus_wer_pct": number(
        N_("Corpus WER"),
        N_(
            "Total word errors / total reference words over the same clips: long sentences weigh "
            "more than in the mean."
        ),
        "%.1f%%",
        90,
    ),
    "mean_cer_pct": number(
        N_("Mean CER"),
        N_("Character error rate, normalised as WER; mean over the same clips."),
        "%.1f%%",
        84,
    ),
}
TTS_SPEED: dict[str, Any] = {
    "name": name_column(N_("Voice")),
    "median_rtf": number(
        N_("Median RTF"),
        N_(
            "Real-time factor: generation seconds / audio seconds (below 1 is faster than real "
            "time). Median over complete clips."
        ),
        "%.3f",
        96,
    ),
    "median_gen_s": number(
        N_("Median gen (s)"),
        N_("Seconds to synthesize a clip; median over complete clips."),
        "%.2f",
        112,
    ),
    "peak_mem_mb": number(
        N_("Peak mem (MB)"),
        N_(
            "The largest memory peak of a clip, for engines that run in this process; – for others."
        ),
        "%.0f",
        112,
    ),
}
# Each board's tables, in order: a title (none for the first) and the columns.
VLM_TABLES: list[tuple[str | None, dict[str, Any]]] = [
    (
        None,
        {
            "name": name_column(N_("Model")),
            **label_columns(
                False, N_("Complete answers (state ok): only these are labeled and timed.")
            ),
        },
    ),
    (N_("Speed · medians over warm complete answers (the cold ones apart, below)"), VLM_SPEED),
]
TTS_TABLES: list[tuple[str | None, dict[str, Any]]] = [
    (None, TTS_WER),
    (
        N_("Labels"),
        {
            "name": name_column(N_("Voice")),
            **label_columns(
                True, N_("Complete clips (state ok): only these are scored, timed and labeled.")
            ),
        },
    ),
    (N_("Speed · medians over warm clips (the cold ones apart, below)"), TTS_SPEED),
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
        speed = title is not None and title.startswith("Speed")
        if title:
            st.caption(f"**{_(title)}**")
        if speed:  # its words name each model's range
            contention_badge(
                [(names[r[name_key]], r["concurrent_min"], r["concurrent_max"]) for r in rows]
            )
        columns = said_columns(config)  # a longer header in another language widens its column
        dataframe(
            frame,
            hide_index=True,
            column_order=list(columns),
            column_config=columns,
            placeholder=EMPTY_CELL,
            width=sum(c["width"] for c in columns.values()) + 2,  # + the grid's border
        )
        if speed:
            st.caption(cold_line(rows, name_key, names))
    with st.expander(_("Full specs and failures by state")):
        st.markdown(
            "\n".join(
                f"- **{names[r[name_key]]}**: `{hide_credentials(r[name_key])}`"
                + (
                    " · " + _("failed: {failures}").format(failures=failures)
                    if (failures := failures_text(r))
                    else ""
                )
                for r in rows
            )
        )
    return names


def cold_line(rows: list[dict[str, Any]], name_key: str, names: dict[str, str]) -> str:
    """The answers kept out of the speed medians because they included a model load
    (lineup.measure.timing.cold_start): how many per model, and their own median."""
    cold = [r for r in rows if r.get("cold_answers")]
    if not cold:
        return _("Cold answers (that included a model load): none among these.")
    said = []
    for row in cold:
        name, count = escape_markdown(names[row[name_key]]), row["cold_answers"]
        if "cold_median_ttft_s" in row and row.get("cold_median_ttft_s") is not None:
            one = _("{name} {count}, median TTFT {seconds} s").format(
                name=name, count=count, seconds=number_text(row["cold_median_ttft_s"], 2)
            )
        elif row.get("cold_median_rtf") is not None:
            one = _("{name} {count}, median RTF {rtf}").format(
                name=name, count=count, rtf=number_text(row["cold_median_rtf"], 2)
            )
        else:
            one = f"{name} {count}"
        said.append(one)
    return _("Cold answers, kept out of the medians above: {models}.").format(
        models="; ".join(said)
    )


def provenance_section(app: Lineup, rows: list[dict[str, Any]], name_key: str) -> None:
    """Each model's latest card: what its server or engine said about itself when last asked."""
    names = short_names(r[name_key] for r in rows)
    cards = app.leaderboard.provenance(r[name_key] for r in rows)
    with st.expander(_("What ran where (each model's latest card)"), icon=":material/dns:"):
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
            _(
                "Rankings (Bradley-Terry, with intervals) and annotator agreement are per "
                "study: choose a study in the filters to see them here."
            )
        )
        return
    info = app.studies.get(board_filter.study_id)
    if info is None:
        return
    if info.kind != kind:
        st.caption(
            (
                _("Study #{id}'s ranking and agreement are under Voices.")
                if info.kind == "tts"
                else _("Study #{id}'s ranking and agreement are under VLMs.")
            ).format(id=info.id)
        )
        return
    st.subheader(
        _("Study #{id} · {set}").format(id=info.id, set=escape_markdown(info.set_name)),
        anchor=False,
    )
    st.caption(
        _(
            "Over the whole study and every annotator's labels: the other filters do not narrow "
            "the ranking or the agreement."
        )
    )
    ranking_and_agreement(app.studies.summary(info.id), short_names(info.models))


app = get_lineup()
st.title(_("Leaderboard"))
st.caption(
    _(
        "Only complete answers count: failed, timed-out, stopped and interrupted ones are "
        "listed under Failed and nowhere else."
    )
)

board_filter = filter_bar(app)
vlm_tab, tts_tab, raw_tab = st.tabs([_("VLMs"), _("Voices"), _("All rows")])

with vlm_tab:
    rows = app.leaderboard.rows("vlm", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(
            _("No VLM answers match the filters: widen them, or clear them."),
            icon=":material/filter_alt:",
        )
    elif not rows:
        st.info(_("Nothing yet: run a comparison on the Compare VLMs page."))
    else:
        st.caption(_(VLM_ORDER))
        names = tables(rows, "model", VLM_TABLES)
        if any(r["labels"] for r in rows):
            chart(pct_relevant_chart(rows, names), key="vlm-chart")
        else:
            st.caption(
                _("No chart yet: no complete answer has a label. Label answers on a Compare page.")
            )
        provenance_section(app, rows, "model")
        csv_download(
            export(rows, "model"), _("Download CSV"), "lineup-vlm-leaderboard.csv", "vlm-csv"
        )
    study_section(app, board_filter, "vlm")

with tts_tab:
    rows = app.leaderboard.rows("tts", board_filter)
    if not rows and not board_filter.is_empty:
        st.info(
            _("No voice clips match the filters: widen them, or clear them."),
            icon=":material/filter_alt:",
        )
    elif not rows:
        st.info(_("Nothing yet: run a comparison on the Compare voices page."))
    else:
        st.caption(_(TTS_ORDER))
        names = tables(rows, "voice", TTS_TABLES)
        if any(r["mean_wer"] is not None for r in rows):
            chart(wer_chart(rows, names), key="tts-chart")
        else:
            st.caption(_("No chart yet: no clip has been transcribed, so there is no WER."))
        provenance_section(app, rows, "voice")
        csv_download(
            export(rows, "voice"), _("Download CSV"), "lineup-tts-leaderboard.csv", "tts-csv"
        )
    study_section(app, board_filter, "tts")

with raw_tab:
    st.caption(
        _(
            "Every stored generation and every label, as they are in the store, for your own "
            "analysis. Labels carry the generation id they belong to."
        )
    )
    # Each button's words whole, per kind and table.
    raw_words: dict[tuple[RunKind, ExportTable], str] = {
        ("vlm", "generations"): N_("VLM answers: {count} rows (CSV)"),
        ("vlm", "labels"): N_("VLM answers: {count} labels (CSV)"),
        ("tts", "generations"): N_("Voice clips: {count} rows (CSV)"),
        ("tts", "labels"): N_("Voice clips: {count} labels (CSV)"),
    }
    kinds: list[RunKind] = ["vlm", "tts"]
    raw_tables: list[ExportTable] = ["generations", "labels"]
    for kind in kinds:
        for where, export_table in zip(st.columns(2), raw_tables, strict=True):
            count = app.leaderboard.export_count(kind, export_table)
            streamed_csv_download(
                _(raw_words[(kind, export_table)]).format(count=count),
                app.leaderboard.export_columns(export_table),
                partial(app.leaderboard.export_rows, kind, export_table),
                f"lineup-{kind}-{export_table}.csv",
                f"{kind}-{export_table}-csv",
                disabled=count == 0,
                where=where,
            )

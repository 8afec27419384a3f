"""A study's ranking (Bradley-Terry from the labels, the arena's from the pairwise votes) and
how far its annotators agree with each other and with the judge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.charts import chart
from components.study.common import (
    EMPTY_CELL,
    NAME_PX,
    model_table,
    name_column,
    number_column,
    records,
    said_columns,
)
from components.study.figures import rating_chart
from components.study.scores import NO_FIGURE, figure_interval, shared_rank
from components.tables import dataframe
from lineup.app import (
    ALPHA_SCALE,
    MATRIX_FIGURES,
    N_,
    RANK_RULE,
    _,
    code_span,
    escape_markdown,
    hide_credentials,
    ngettext,
    number,
    pair_matrix,
    pair_sentences,
    percent,
    rank_note,
    rank_summary,
)


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
            "bt_ci": figure_interval(m.get("bt_ci_low"), m.get("bt_ci_high"), 0),
            "arena_rank_text": shared_rank(m.get("arena_rank"), arena_ranks),
            "arena_ci": figure_interval(m.get("arena_ci_low"), m.get("arena_ci_high"), 0),
            "rank_note": rank_note(m),
        }
        for m in models
    ]
    rows.sort(
        key=lambda r: (
            r.get("bt_rank") is None,
            r.get("bt_rank") or 0,
            -(r.get("rank_relevance") or 0),
            -(r.get("bt_rating") or 0),
        )
    )
    return pd.DataFrame(rows)


ARENA_RANK_HELP = N_(
    "The same rule on the arena ratings: 1 + the models whose rating minus this one's has a 95% "
    "bootstrap interval above 0, or above a model rated at least as high. A shared rank is "
    "marked (tie)."
)


NAME_MAX_PX = 240  # with the other columns, 536 px: the main column of a 1000 px window


def _name_px(names: dict[str, str]) -> int:
    """The model column wide enough for the longest short name (about 7.5 px a character),
    between the other tables' NAME_PX and NAME_MAX_PX: the ranking table is narrow enough to
    give its names the room."""
    longest = max((len(name) for name in names.values()), default=0)
    return max(NAME_PX, min(NAME_MAX_PX, int(7.5 * longest) + 24))


def ranking_columns(with_arena: bool, name_px: int = NAME_PX) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "bt_rank_text": st.column_config.TextColumn(
            N_("Rank"),
            help=_("{rule} A shared rank is marked (tie).").format(rule=_(RANK_RULE)),
            width=70,
        ),
        "name": st.column_config.TextColumn(
            N_("Model"), help=name_column(N_("Model"))["help"], width=name_px, pinned=True
        ),
        "rank_relevance": number_column(
            N_("Score"),
            N_(
                "Relevance score: the mean over the model's items of its item score (relevant 1, "
                "partly 0.5, irrelevant 0). The ranks follow it."
            ),
            "%.2f",
            60,
        ),
        "bt_rating": number_column(
            N_("Rating"),
            N_(
                "Bradley-Terry rating from the labels: on each item two models both labeled, the "
                "higher item score wins. Elo-like scale: the mean of the rated models is 1000, "
                "+400 is 10:1 odds. None from fewer than 5 items, nor for a model that won or lost "
                "every comparison (the fit would make its number up)."
            ),
            "%.0f",
            70,
        ),
        "bt_ci": st.column_config.TextColumn(
            N_("95% CI"),
            help=N_(
                "95% bootstrap interval of the rating: the items resampled 1,000 times. None "
                "where every resample gives the same rating: that is no certainty."
            ),
            width=96,
        ),
    }
    if with_arena:
        columns |= {
            "arena_rank_text": st.column_config.TextColumn(
                N_("Arena rank"), help=ARENA_RANK_HELP, width=90
            ),
            "arena_rating": number_column(
                N_("Arena rating"),
                N_(
                    "Bradley-Terry rating from the annotators' votes between two answers to the "
                    "same item (the label queue's arena mode), same scale."
                ),
                "%.0f",
                96,
            ),
            "arena_ci": st.column_config.TextColumn(
                N_("Arena 95% CI"),
                help=N_("95% bootstrap interval of the arena rating."),
                width=104,
            ),
            "arena_votes": number_column(N_("Votes"), N_("Pairwise votes counted."), "%d", 60),
        }
    return columns


def ranking_table(summary: dict[str, Any], names: dict[str, str]) -> None:
    """The models ranked by their Bradley-Terry rating from the labels, ties marked, with a
    chart of the ratings and their intervals; the arena's ranking beside it when the study
    has pairwise votes."""
    chart_key = f"study-rating-chart-{summary['study_id']}"
    frame = _ranked_rows(summary)
    if frame.empty:
        st.caption(_("No model in this study."))
        return
    with_arena = any(m.get("arena_rank") is not None for m in summary["models"])
    labeled = any(
        m.get("bt_items") or m.get("won_every_comparison") or m.get("lost_every_comparison")
        for m in summary["models"]
    )
    if all(m.get("bt_rank") is None for m in summary["models"]) and not with_arena:
        if labeled:
            st.caption(
                _(
                    "No rank yet: a rank, a rating and an interval need at least 5 items "
                    "labeled for two models. Label more answers in the label queue."
                )
            )
            model_table(frame, names, ranking_columns(False, _name_px(names)), width="content")
            _notes(frame, names)
        else:
            st.caption(
                _(
                    "No ranking yet: it needs labels on the same items for at least two models. "
                    "Label the answers in the label queue."
                )
            )
        return
    rated = [m for m in summary["models"] if m.get("bt_rating") is not None]
    # The chart under the table, not beside it: in a 1000 px window two columns would cut the
    # table's columns and the chart's names.
    model_table(frame, names, ranking_columns(with_arena, _name_px(names)), width="content")
    _notes(frame, names)
    said = rank_summary(summary)
    st.caption(
        (
            _("From every annotator's labels. {summary} {rule}")
            if said
            else _("From every annotator's labels. {rule}")
        ).format(summary=said, rule=_(RANK_RULE))
    )
    if rated:
        chart(rating_chart(records(frame), names), key=chart_key)


def _notes(frame: pd.DataFrame, names: dict[str, str]) -> None:
    """Under the ranking table, one line per model without a rating or rank, saying why (won
    or lost every comparison, too few items): in words, never cut by a column's width."""
    lines = [
        f"- **{escape_markdown(names.get(row['model'], row['model']))}**: "
        f"{escape_markdown(row['rank_note'])}"
        for row in records(frame)
        if row.get("rank_note")
    ]
    if lines:
        st.markdown("\n".join(lines))


def pairs_matrix(summary: dict[str, Any], names: dict[str, str]) -> None:
    """Which differences are real: per figure, a matrix of the models (the row's model against
    the column's: the difference, its 95% interval, better or worse and in what share of the
    resamples, or "no difference shown"), then one sentence per pair."""
    first = True
    for figure, (marked, _unit) in MATRIX_FIGURES.items():
        heading = _(marked)
        labels, rows = pair_matrix(summary, figure, lambda m: names.get(m, m))
        if not rows:
            continue
        holder = st.container() if first else st.expander(heading)
        if first:
            holder.markdown(
                "**" + _("Which differences are real: {figure}").format(figure=heading) + "**"
            )
        first = False
        # A static table: every cell wraps whole, nothing is cut (a data grid would cut).
        holder.table(pd.DataFrame(rows, index=labels, columns=labels))
        words = pair_sentences(summary, figure, lambda m: escape_markdown(names.get(m, m)))
        holder.markdown("\n".join(f"- {line}" for line in words))
        holder.caption(
            _(
                "Row against column: the row's figure minus the column's over the items both "
                "have, its 95% item-bootstrap interval (the items resampled 1,000 times, each "
                "with all its answers and labels), and the share of resamples in which the "
                "better one is better. Shown better: the interval excludes 0. No interval from "
                "fewer than 5 shared items."
            )
        )
    if first:
        st.caption(_("No pair of models yet: the differences need labels on the same items."))


def _kappa_frame(pairs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["a", "b", "kappa", "raw_agreement", "n_shared"])


KAPPA_COLUMNS: dict[str, Any] = {
    "a": st.column_config.TextColumn(N_("Annotator"), width=120),
    "b": st.column_config.TextColumn(N_("and"), width=120),
    "kappa": number_column(
        N_("Kappa"),
        N_(
            "Cohen's kappa with linear weights: 1 = the same labels, 0 = chance. Relevant against "
            "irrelevant weighs twice a one-step disagreement."
        ),
        "%.2f",
        70,
    ),
    "raw_agreement": st.column_config.NumberColumn(
        N_("Raw"),
        help=N_(
            "Raw agreement: the share of the answers both labeled on which they gave the same "
            "label. Kappa corrects it for chance; read them together."
        ),
        format="percent",
        width=70,
    ),
    "n_shared": number_column(N_("Shared answers"), N_("Answers both labeled."), "%d", 110),
}


def _figure(value: float | None) -> str:
    return NO_FIGURE if value is None else number(value, 2)


JUDGE_BY_MODEL_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Model")),
    "spearman": number_column(
        N_("Spearman"),
        N_("Rank correlation of the judge's scores with the labels on this model's answers."),
        "%.2f",
        80,
    ),
    "kappa": number_column(
        N_("Kappa"),
        N_(
            "Cohen's kappa (linear) between the labels on this model's answers and the judge's "
            "scores read as labels."
        ),
        "%.2f",
        70,
    ),
    "n": number_column(N_("Label pairs"), N_("Labels beside a judge's score."), "%d", 90),
}


def agreement_block(summary: dict[str, Any], names: dict[str, str] | None = None) -> None:
    """How far the annotators agree with each other, and the judge with them."""
    agreement = summary["agreement"]
    alpha = agreement.get("alpha")
    n_items = agreement.get("n_items") or 0
    # The kappa table under alpha, not beside it: in a 1000 px window a column beside alpha
    # would cut the table.
    raw = agreement.get("raw_agreement")
    alpha_column, raw_column = st.columns(2, width=420)
    alpha_column.metric(
        _("Krippendorff's alpha"),
        _figure(alpha),
        help=_(
            "Ordinal (irrelevant < partial < relevant) over the answers two or more annotators "
            "labeled: 1 = they always agree, 0 = what chance gives. {scale}"
        ).format(scale=_(ALPHA_SCALE)),
    )
    raw_column.metric(
        _("Raw agreement"),
        NO_FIGURE if raw is None else percent(raw),
        help=_(
            "The share of the pairs of labels on one answer that are the same relevance. Alpha "
            "and kappa correct it for chance: when nearly every label is the same, they can be "
            "0 while this is near 100%."
        ),
    )
    if alpha is not None:
        reading = agreement.get("alpha_reading")
        st.caption(
            ngettext(
                "Over {count} answer labeled by two or more annotators: {reading} by "
                "Krippendorff's reading (0.8 and above reliable, 0.667 to 0.8 tentative).",
                "Over {count} answers labeled by two or more annotators: {reading} by "
                "Krippendorff's reading (0.8 and above reliable, 0.667 to 0.8 tentative).",
                n_items,
            ).format(count=n_items, reading=_(reading) if reading else reading)
        )
    elif n_items:
        st.caption(
            ngettext(
                "Undefined over {count} answer: every label there is the same, so no "
                "disagreement was possible.",
                "Undefined over {count} answers: every label there is the same, so no "
                "disagreement was possible.",
                n_items,
            ).format(count=n_items)
        )
    else:
        st.caption(_("Needs two annotators on the same answers."))
    pairs = agreement.get("kappa_pairs") or []
    st.markdown("**" + _("Cohen's kappa per pair of annotators") + "**")
    if pairs:
        dataframe(
            _kappa_frame(pairs),
            hide_index=True,
            column_order=list(KAPPA_COLUMNS),
            column_config=said_columns(KAPPA_COLUMNS),
            placeholder=EMPTY_CELL,
            width="content",
        )
        st.caption(_("– : they share no answer, or each gave one label throughout."))
    else:
        st.caption(_("Needs two annotators: one has labeled these answers, or none yet."))
    judge = agreement.get("judge")
    st.markdown("**" + _("The judge against the people") + "**")
    if summary.get("kind") == "tts":
        st.caption(_("Voice studies have no judge: the WER scores the clips."))
    elif judge is None:
        st.caption(
            _(
                "No judge has scored this study. Once one has, this compares its scores with "
                "the labels on the same answers."
            )
        )
    else:
        row = st.container(horizontal=True)
        row.metric(
            _("Spearman"),
            _figure(judge.get("spearman")),
            help=_(
                "Rank correlation of the judge's scores (1–10) with the labels on the same "
                "answers: 1 = the same order."
            ),
            width="content",
        )
        row.metric(
            _("Kappa"),
            _figure(judge.get("kappa")),
            help=_(
                "Cohen's kappa (linear) between the labels and the judge's scores read as "
                "labels: below 4 irrelevant, 4–7 partial, 8 and up relevant."
            ),
            width="content",
        )
        row.metric(_("Label pairs"), judge.get("n") or 0, width="content")
        st.caption(
            _(
                "Judge {judge} ({protocol}): each counted label beside its score of the same "
                "answer. – : no such pair yet, or one side is the same throughout."
            ).format(
                judge=code_span(hide_credentials(judge["judge"])),
                protocol=judge.get("protocol", "reference"),
            )
        )
        by_model = judge.get("models") or []
        if names is not None and by_model:
            model_table(pd.DataFrame(by_model), names, JUDGE_BY_MODEL_COLUMNS, width="content")
            st.caption(
                _(
                    "The same per model, over the labels on its answers: a judge can follow the "
                    "people on one model and not on another."
                )
            )


def ranking_and_agreement(summary: dict[str, Any], names: dict[str, str]) -> None:
    """A study's ranking and agreement, as the Studies page and the leaderboard show them."""
    st.markdown("**" + _("Ranking") + "**")
    ranking_table(summary, names)
    pairs_matrix(summary, names)
    st.markdown("**" + _("Agreement") + "**")
    agreement_block(summary, names)

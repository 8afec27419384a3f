"""The LLM judge's own reliability on a study, under its scores: how far its pairwise verdicts
depend on the order the answers are shown in (first-position win rate, flip rate), the answers
it disputes with a link to walk them in the label queue, and every judge that ran side by side
(definitions: lineup.score.judge_reliability)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.study.common import EMPTY_CELL, said_columns
from components.study.scores import NO_FIGURE
from components.tables import dataframe
from lineup.app import N_, _, code_span, hide_credentials, ngettext, percent

FIRST_HELP = N_(
    "Of the verdicts that are not a tie, the share won by the answer shown first. Every answer "
    "is judged twice, shown first and shown second, so a judge the order does not sway gives "
    "exactly 50%; 100% always prefers the first answer. Ties are counted apart."
)
FLIP_HELP = N_(
    "The share of answers judged in both orders whose winner (the answer, the reference "
    "model's, or a tie) changes when the order is swapped."
)
DISPUTED_HELP = N_(
    "Answers the judge flipped (pairwise), or whose score is two steps from a person's label: "
    "the person said relevant and the judge scored below 4, or irrelevant and it scored 8 or "
    "more."
)


def _percent(share: float | None) -> str:
    return NO_FIGURE if share is None else percent(share)


def _hundred(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _judges_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "judge": hide_credentials(e["judge"]),
                "protocol": e["protocol"],
                "first": _hundred(e.get("first_position_win_rate")),
                "flip": _hundred(e.get("flip_rate")),
                "pairs": e.get("pairs"),
                "disputed": e.get("disputed"),
            }
            for e in entries
        ]
    )


JUDGES_COLUMNS: dict[str, Any] = {
    "judge": st.column_config.TextColumn(N_("Judge"), width=220),
    "protocol": st.column_config.TextColumn(N_("Protocol"), width=80),
    "first": st.column_config.NumberColumn(
        N_("First-position wins"), help=FIRST_HELP, format="%.0f%%", width=130
    ),
    "flip": st.column_config.NumberColumn(
        N_("Flip rate"), help=FLIP_HELP, format="%.0f%%", width=80
    ),
    "pairs": st.column_config.NumberColumn(
        N_("Both orders"), help=N_("Answers scored in both orders."), format="%d", width=90
    ),
    "disputed": st.column_config.NumberColumn(
        N_("Disputed"), help=DISPUTED_HELP, format="%d", width=80
    ),
}


def reliability_section(summary: dict[str, Any]) -> None:
    """The study's latest judge's reliability, and every judge's when more than one ran."""
    entries = summary.get("judge_reliability") or []
    if not entries:
        return
    latest = entries[0]
    st.markdown("**" + _("The judge's reliability") + "**")
    row = st.container(horizontal=True)
    pairwise = latest.get("pairs") is not None
    if pairwise:
        row.metric(
            _("First-position win rate"),
            _percent(latest.get("first_position_win_rate")),
            help=_(FIRST_HELP),
            width="content",
        )
        row.metric(
            _("Flip rate"), _percent(latest.get("flip_rate")), help=_(FLIP_HELP), width="content"
        )
    row.metric(
        _("Disputed answers"), latest.get("disputed") or 0, help=_(DISPUTED_HELP), width="content"
    )
    judge = code_span(hide_credentials(latest["judge"]))
    if pairwise:
        decided = (latest.get("first_wins") or 0) + (latest.get("second_wins") or 0)
        pairs, ties = latest.get("pairs") or 0, latest.get("ties") or 0
        st.caption(
            _(
                "{judge}, pairwise: of {verdicts} on {answers} judged in both orders, {first} "
                "went to the answer shown first and {second} to the one shown second ({ties} "
                "apart); {flips} changed winner with the order. A judge the order does not "
                "sway gives 50% and no flips; its figure sums both orders, so a pure position "
                "bias cancels out."
            ).format(
                judge=judge,
                verdicts=ngettext(
                    "{count} decided verdict", "{count} decided verdicts", decided
                ).format(count=decided),
                answers=ngettext("{count} answer", "{count} answers", pairs).format(count=pairs),
                first=latest.get("first_wins") or 0,
                second=latest.get("second_wins") or 0,
                ties=ngettext("{count} tie", "{count} ties", ties).format(count=ties),
                flips=latest.get("flips") or 0,
            )
        )
    else:
        st.caption(
            _(
                "{judge}, reference protocol: each answer is judged once, so there is no order "
                "to swap; disputes are its scores two steps from a person's label."
            ).format(judge=judge)
        )
    if latest.get("disputed"):
        st.page_link(
            "app_pages/label_queue.py",
            label=ngettext(
                "Walk the {count} disputed answer in the label queue",
                "Walk the {count} disputed answers in the label queue",
                latest["disputed"],
            ).format(count=latest["disputed"]),
            icon=":material/rule:",
            query_params={"study": str(summary["study_id"]), "disputed": "1"},
            help=_("{flipped} flipped, {disagreed} against a person's label.").format(
                flipped=latest.get("flipped") or 0, disagreed=latest.get("disagreed") or 0
            ),
        )
    if len(entries) > 1:
        dataframe(
            _judges_frame(entries),
            hide_index=True,
            column_order=list(JUDGES_COLUMNS),
            column_config=said_columns(JUDGES_COLUMNS),
            placeholder=EMPTY_CELL,
            width="content",
        )
        st.caption(_("Every judge that ran on this study, the latest first."))

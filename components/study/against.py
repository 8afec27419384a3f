"""Agreement with a chosen model (the quantisation ladder): how often each other model of the
study gives the chosen model's answer, next to its speed (definitions: lineup/report/against.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.study.common import EMPTY_CELL, TABLE_PX, model_table, name_column, number_column
from lineup.app import INPUT_ERRORS, N_, Lineup, StudyInfo, _, escape_markdown, number


def _interval(low: float | None, high: float | None) -> str:
    return EMPTY_CELL if low is None or high is None else f"{number(low, 2)}–{number(high, 2)}"


def against_section(app: Lineup, study: StudyInfo, names: dict[str, str]) -> None:
    """Choose a model of the study; each other model's identical share and ROUGE-L to its
    answers on the same item and repeat, with intervals, beside its median decode rate."""
    chosen = st.selectbox(
        _("Against"),
        list(study.models),
        index=0,
        key=f"study-against-{study.id}",
        format_func=lambda m: names.get(m, m),
        width=420,
        help=_("Usually the full-precision model: how often each other model gives its answer."),
    )
    try:
        against = app.studies.agreement_with(study.id, chosen)
    except INPUT_ERRORS as exc:
        st.error(str(exc), icon=":material/error:")
        return
    rate = against["chosen_median_tokens_per_s"]
    name = escape_markdown(names.get(chosen, chosen))
    st.caption(
        (
            _(
                "Each answer beside {name}'s answer to the same item and repeat; the mean over "
                "items with a 95% item-bootstrap interval. {name}: {rate} tokens/s. No judge: "
                "Lineup's pairwise judge compares answers with the reference model only."
            )
            if rate
            else _(
                "Each answer beside {name}'s answer to the same item and repeat; the mean over "
                "items with a 95% item-bootstrap interval. No judge: Lineup's pairwise judge "
                "compares answers with the reference model only."
            )
        ).format(name=name, rate=number(rate, 1) if rate else "")
    )
    rows = [
        {
            **m,
            "identical_ci": _interval(m["identical_ci_low"], m["identical_ci_high"]),
            "rouge_ci": _interval(m["rougeL_ci_low"], m["rougeL_ci_high"]),
        }
        for m in against["models"]
    ]
    if not rows:
        return
    model_table(
        pd.DataFrame(rows),
        names,
        {
            "name": name_column(N_("Model")),
            "identical_share": number_column(
                N_("Identical"),
                N_(
                    "The share of its answers that are the chosen model's answer, character for "
                    "character (the mean over items)."
                ),
                "percent",
                90,
            ),
            "identical_ci": st.column_config.TextColumn(N_("95% CI"), width=100),
            "rougeL_to_chosen": number_column(
                N_("ROUGE-L to it"),
                N_("ROUGE-L F1 between the two answers, the mean over items."),
                "%.3f",
                100,
            ),
            "rouge_ci": st.column_config.TextColumn(N_("95% CI"), width=100),
            "pairs": number_column(N_("Pairs"), N_("Answer pairs compared."), "%d", 60),
            "median_tokens_per_s": number_column(
                N_("Median tok/s"),
                N_("Its median decode rate over its complete answers."),
                "%.1f",
                100,
            ),
        },
        width=TABLE_PX,
    )

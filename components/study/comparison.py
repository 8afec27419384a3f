"""Two studies compared on the Studies page (`?compare=BASELINE,CANDIDATE`): the paired
differences with their intervals and words, the regressions and the improvements; and the
"Compare with..." control under a study that leads there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.study.common import EMPTY_CELL, NAME_PX, TABLE_PX, number_column, said_columns
from components.tables import dataframe
from lineup.app import (
    N_,
    StudyInfo,
    _,
    comparison_reading,
    escape_markdown,
    ngettext,
    percent,
    short_names,
    significant,
    state_word,
)

COMPARE_KEY = "compare"  # ?compare=BASELINE,CANDIDATE
PICK_KEY = "study-compare-pick"


def compare_address(value: str | None) -> tuple[int, int] | None:
    """The two study ids of `?compare=A,B`, or None when it does not hold two ids."""
    parts = [p.strip() for p in (value or "").split(",")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _open_comparison(candidate: int) -> None:
    baseline = st.session_state.get(PICK_KEY)
    if isinstance(baseline, int):
        st.query_params[COMPARE_KEY] = f"{baseline},{candidate}"


def compare_control(study: StudyInfo, studies: Sequence[StudyInfo]) -> None:
    """ "Compare with...": another study of the same kind as the baseline, this one the
    candidate (those of the same set first)."""
    others = [s for s in studies if s.kind == study.kind and s.id != study.id]
    others.sort(key=lambda s: (s.set_id != study.set_id, -s.id))
    # Said here: a format_func may be called outside the script run.
    labels = {
        s.id: ngettext(
            "#{id} · {set} · {count} models × {repeats} · {status}",
            "#{id} · {set} · {count} models × {repeats} · {status}",
            len(s.models),
        ).format(
            id=s.id,
            set=s.set_name,
            count=len(s.models),
            repeats=s.repeats,
            status=state_word(s.status),
        )
        for s in others
    }
    st.selectbox(
        _("Compare with..."),
        [s.id for s in others],
        index=None,
        key=PICK_KEY,
        width=640,
        placeholder=_("a baseline study: this one is the candidate")
        if others
        else _("no other study of this kind yet"),
        disabled=not others,
        format_func=lambda i: labels.get(i, str(i)),
        on_change=_open_comparison,
        args=(study.id,),
        help=_(
            "Paired differences per model over the items both studies hold, and the items "
            "that got worse or better (`study compare BASELINE CANDIDATE` on the command line)."
        ),
    )


def _percent(share: float | None) -> str:
    return EMPTY_CELL if share is None else percent(share)


def _signed(value: float) -> str:
    return "0" if value == 0 else significant(value, sign=True)


def _interval(row: dict[str, Any]) -> str:
    if row["ci_low"] is None:
        return EMPTY_CELL
    return _("{low} to {high}").format(low=_signed(row["ci_low"]), high=_signed(row["ci_high"]))


def _lead(document: dict[str, Any]) -> str:
    base, cand, items = document["baseline"], document["candidate"], document["items"]
    text = _(
        "Baseline study **#{baseline}** ({baseline_set}) against candidate study "
        "**#{candidate}** ({candidate_set}): {shared} shared items, matched by {matched_by}"
    ).format(
        baseline=base["study_id"],
        baseline_set=escape_markdown(base["set"]),
        candidate=cand["study_id"],
        candidate_set=escape_markdown(cand["set"]),
        shared=items["shared"],
        matched_by=items["matched_by"],
    )
    if items["baseline_only"] or items["candidate_only"]:
        text += _(
            "; {baseline_only} in the baseline only and {candidate_only} in the candidate "
            "only, left out"
        ).format(baseline_only=items["baseline_only"], candidate_only=items["candidate_only"])
    judge = document["judge"]
    if judge:
        text += _(". Judge in both: {judge} ({protocol})").format(
            judge=escape_markdown(judge["spec"]), protocol=judge["protocol"]
        )
    return text + "."


FIGURE_NAMES = {
    "relevance": N_("Relevance"),
    "judge": N_("Judge"),
    "rouge1_f1": "ROUGE-1",
    "rougeL_f1": "ROUGE-L",
    "chrf": "chrF",
    "wer": "WER",
}


def comparison_view(document: dict[str, Any]) -> None:
    """The comparison's sections (definitions: lineup/report/comparison.py)."""
    st.markdown(_lead(document))
    models = [m["model"] for m in document["models"]]
    names = short_names([*models, *(m["baseline_model"] for m in document["models"])])
    for model in document["models"]:
        if model["baseline_model"] != model["model"]:
            st.caption(
                _("{baseline} (baseline) compared with {candidate} (candidate).").format(
                    baseline=escape_markdown(names[model["baseline_model"]]),
                    candidate=escape_markdown(names[model["model"]]),
                )
            )
    figure_names = {key: _(words) for key, words in FIGURE_NAMES.items()}
    st.subheader(_("Paired differences"), anchor=False)
    differences = pd.DataFrame(
        [
            {
                "name": names[row["model"]],
                "figure": figure_names.get(row["figure"], row["figure"]),
                "baseline": row["baseline"],
                "candidate": row["candidate"],
                "diff": row["diff"],
                "ci": _interval(row),
                "better": _percent(row["share_candidate_better"]),
                "items": row["items"],
                "reading": comparison_reading(row),
            }
            for row in document["differences"]
        ],
        columns=[
            "name",
            "figure",
            "baseline",
            "candidate",
            "diff",
            "ci",
            "better",
            "items",
            "reading",
        ],
    )
    dataframe(
        differences,
        hide_index=True,
        placeholder=EMPTY_CELL,
        column_config=said_columns(
            {
                "name": st.column_config.TextColumn(N_("Model"), width=NAME_PX, pinned=True),
                "figure": st.column_config.TextColumn(N_("Figure"), width=76),
                "baseline": number_column(
                    N_("Baseline"),
                    N_("The baseline's figure over the items both have."),
                    "%.3g",
                    70,
                ),
                "candidate": number_column(
                    N_("Candidate"), N_("The candidate's figure over the same items."), "%.3g", 76
                ),
                "diff": number_column(N_("Difference"), N_("Candidate − baseline."), "%+.3g", 80),
                "ci": st.column_config.TextColumn(
                    N_("95% interval"),
                    help=N_(
                        "Of the difference: the shared items resampled 1,000 times (seed 0), "
                        "each with all its answers, repeats and labels. None below 5 items."
                    ),
                    width=120,
                ),
                "better": st.column_config.TextColumn(
                    N_("Better in"),
                    help=N_(
                        "The share of resamples in which the candidate is better (lower for "
                        "WER), ties half."
                    ),
                    width=70,
                ),
                "items": number_column(
                    N_("Items"), N_("Items both studies have a score on."), "%d", 50
                ),
                "reading": st.column_config.TextColumn(N_("Reading"), width="large"),
            }
        ),
        width="stretch",
    )
    if not document["differences"]:
        st.caption(_("No figure in both studies yet: label the answers, or score them."))
    sections = (
        (
            "regressions",
            _("Regressions ({count})"),
            _("No item score is worse in the candidate."),
            _(
                "Items whose score is worse in the candidate (by more than rounding), the "
                "largest change first; one item has no interval of its own."
            ),
        ),
        (
            "improvements",
            _("Improvements ({count})"),
            _("No item score is better in the candidate."),
            _(
                "Items whose score is better in the candidate (by more than rounding), the "
                "largest change first; one item has no interval of its own."
            ),
        ),
    )
    for name, title, none, about in sections:
        rows = document[name]
        st.subheader(title.format(count=len(rows)), anchor=False)
        if not rows:
            st.caption(none)
            continue
        st.caption(about)
        dataframe(
            pd.DataFrame(
                [
                    {
                        "name": names[row["model"]],
                        "figure": figure_names.get(row["figure"], row["figure"]),
                        "item": row["item"],
                        "question": row["question"],
                        "baseline": row["baseline"],
                        "candidate": row["candidate"],
                        "change": row["change"],
                    }
                    for row in rows
                ]
            ),
            hide_index=True,
            column_config=said_columns(
                {
                    "name": st.column_config.TextColumn(N_("Model"), width=NAME_PX, pinned=True),
                    "figure": st.column_config.TextColumn(N_("Figure"), width=76),
                    "item": number_column(
                        N_("Item"), N_("The item's id in the candidate's set."), "plain", 50
                    ),
                    "question": st.column_config.TextColumn(N_("Question"), width=300),
                    "baseline": number_column(
                        N_("Baseline"), N_("The baseline's item score."), "%.3g", 70
                    ),
                    "candidate": number_column(
                        N_("Candidate"), N_("The candidate's item score."), "%.3g", 76
                    ),
                    "change": number_column(N_("Change"), N_("Candidate − baseline."), "%+.3g", 70),
                }
            ),
            width=TABLE_PX,
        )

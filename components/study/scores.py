"""A VLM study's automatic scores per model: overlap with the reference answers, the judge's
figure, each with its 95% interval, and the language and text checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.study.common import model_table, name_column, number_column
from lineup.app import N_, _, code_span, hide_credentials, number

SCORE_PX, SCORE_CI_PX = 66, 88
NO_FIGURE = "–"


def figure_interval(low: float | None, high: float | None, decimals: int = 2) -> str | None:
    """An interval as one cell, e.g. "0.31–0.55", or "−124 – 714" when an end is negative (a
    minus sign beside the dash would read as a range); None when there is none."""
    if low is None or high is None:
        return None
    if low < 0 or high < 0:
        return f"{number(low, decimals)} – {number(high, decimals)}".replace("-", "−")
    return f"{number(low, decimals)}–{number(high, decimals)}"


def interval_cell(row: dict[str, Any], name: str, decimals: int = 2) -> str | None:
    """A figure's interval as one cell (figure_interval), or, when it has a value but no
    interval, why not in a few words: "none: 3 items" below the floor of 5 items, "none: items
    agree" when every item gives the same value (a zero width is not certainty)."""
    shown = figure_interval(row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high"), decimals)
    if shown is not None or row.get(name) is None:
        return shown
    reason = row.get(f"{name}_ci_reason") or ""
    if reason.startswith("fewer than"):
        return _("none: {count} items").format(count=reason.split("(")[-1].split(")")[0])
    if "same value" in reason:
        return _("none: items agree")
    return None


def shared_rank(rank: int | None, ranks: Sequence[int | None]) -> str | None:
    """A rank as shown: "1", or "1 (tie)" when another model shares it."""
    if rank is None:
        return None
    return _("{rank} (tie)").format(rank=rank) if sum(r == rank for r in ranks) > 1 else str(rank)


def _ci_column(what: str) -> Any:
    return st.column_config.TextColumn(
        _("95% CI"),
        help=_(
            "95% item-bootstrap interval of the mean {figure}: the items resampled 1,000 times "
            "with all their answers (repeats of one item are not independent). None below 5 "
            "items with a score, nor when every item gives the same value."
        ).format(figure=what),
        width=SCORE_CI_PX,
    )


def _judge_help(judge: dict[str, Any] | None) -> str:
    if judge is None:
        return _("The LLM judge's mean figure: no judge has scored this study yet.")
    if judge.get("protocol") == "pairwise":
        return _(
            "The mean over answers of {judge}'s scores of the answer, summed over both orders, "
            "over its scores of the reference model's answer, summed the same way: 1 = as good "
            "as the reference, above 1 = better. A judge swayed only by the order gives 1."
        ).format(judge=code_span(judge["spec"]))
    return _(
        "The mean of {judge}'s score (1–10) / 10 of each answer against the item's reference "
        "answer: 1 = says what the reference says."
    ).format(judge=code_span(judge["spec"]))


def score_columns(judge: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": name_column(N_("Model")),
        "rouge1_f1": number_column(
            N_("ROUGE-1"),
            N_(
                "F1 of the words shared with the reference answer. 1 = the answer is the "
                "reference, 0 = no overlap; mean over the answers to items with a reference."
            ),
            "%.2f",
            SCORE_PX,
        ),
        "rouge1_ci": _ci_column("ROUGE-1"),
        "rougeL_f1": number_column(
            N_("ROUGE-L"),
            N_(
                "F1 of the longest common word sequence with the reference. 1 = the answer is "
                "the reference, 0 = no overlap; mean over the answers to items with one."
            ),
            "%.2f",
            SCORE_PX,
        ),
        "rougeL_ci": _ci_column("ROUGE-L"),
        "chrf": number_column(
            N_("chrF"),
            N_(
                "Character n-gram F-score (sacrebleu chrF / 100). 1 = the answer is the "
                "reference, 0 = no overlap; mean over the answers to items with one."
            ),
            "%.2f",
            SCORE_PX,
        ),
        "chrf_ci": _ci_column("chrF"),
        "judge_score": number_column(N_("Judge"), _judge_help(judge), "%.2f", SCORE_PX),
        "judge_ci": _ci_column(_("judge figure")),
        "judged": number_column(N_("Judged"), N_("Answers the judge scored."), "%d", 58),
        "judge_failures": number_column(
            N_("Failures"),
            N_(
                "Answers the judge failed on (no score in its reply, or the request failed): left "
                "out of the mean, never counted as 0."
            ),
            "%d",
            62,
        ),
    }


CHECK_COLUMNS: dict[str, Any] = {
    "name": name_column(N_("Model")),
    "with_reference": number_column(
        N_("With reference"),
        N_(
            "Complete answers whose item has a reference answer (the set's, else the reference "
            "model's): the ones ROUGE and chrF score."
        ),
        "%d",
        104,
    ),
    "wrong_language_text": st.column_config.TextColumn(
        N_("Wrong language"),
        help=N_(
            "Answers in another language than their item's, of those checked (the item has a "
            "language and the answer is long enough to tell)."
        ),
        width=110,
    ),
    "latin_share_pct": number_column(
        N_("Latin share"),
        N_(
            "Mean share of Latin letters in the answers to items in a non-Latin script (e.g. "
            "Russian); – without such items."
        ),
        "%.0f%%",
        84,
    ),
    "other_script_chars": number_column(
        N_("Other-script chars"),
        N_("Letters in neither the item's script nor Latin, summed over the answers."),
        "%d",
        124,
    ),
    "empty": number_column(N_("Empty"), N_("Complete answers with no text."), "%d", 56),
    "refusals": number_column(N_("Refusals"), N_("Answers that refuse to answer."), "%d", 70),
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
                "rouge1_ci": interval_cell(model, "rouge1_f1"),
                "rougeL_ci": interval_cell(model, "rougeL_f1"),
                "chrf_ci": interval_cell(model, "chrf"),
                "judge_ci": interval_cell(model, "judge_score"),
                "wrong_language_text": (
                    _("{count} of {checked}").format(
                        count=model.get("wrong_language") or 0, checked=checked
                    )
                    if checked
                    else None
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
        st.caption(_("No model in this study."))
        return
    judge = summary.get("judge")
    # Whether items have references is read from the items, not from the complete answers: a
    # study still at its first answers has none scored yet, yet its items may all have one.
    referenced = summary.get("items_with_reference") or 0
    if not referenced:
        st.caption(
            _(
                "No ROUGE or chrF yet: no item has a reference answer. Add references to the "
                "set, or name a reference model whose answers stand in for them."
            )
        )
    elif not any(m.get("with_reference") for m in summary["models"]):
        st.caption(
            _(
                "No ROUGE or chrF yet: {count} of {items} items have a reference answer; their "
                "answers are scored once they are complete."
            ).format(count=referenced, items=summary["items"])
        )
    model_table(frame, names, score_columns(judge))
    if judge is None:
        st.caption(
            _("Judge: no judge has scored this study yet; its figures appear here once one has.")
        )
    else:
        st.caption(
            _(
                "Judge: {judge}, protocol {protocol}, its latest verdicts. Hover a header for "
                "what a figure means."
            ).format(judge=code_span(hide_credentials(judge["spec"])), protocol=judge["protocol"])
        )
    reference = summary.get("reference")
    if reference:
        st.caption(
            _(
                "Reference model: {model} · {ok} complete answers, {errors} failed; shown "
                "apart, never ranked."
            ).format(
                model=code_span(hide_credentials(reference["model"])),
                ok=reference.get("ok", 0),
                errors=reference.get("errors", 0),
            )
        )
    st.markdown("**" + _("Language and text checks") + "**")
    model_table(frame, names, CHECK_COLUMNS)

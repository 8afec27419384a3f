"""A study's automatic scores per model: overlap with the items' reference answers, and the
language and text checks of its answers.

Definitions (the figures themselves are defined in lineup.measure.overlap and
lineup.measure.text_checks):

- Scored answers: the study's `ok` answers (any repeat) of a VLM study. The reference of an
  item is the set's reference answer, else the reference model's answer
  (lineup.score.references); an answer to an item without one has no overlap scores; an item
  without a language has no language check.
- rouge1_f1, rougeL_f1, chrf: the mean over the model's answers that have a reference, with
  a 95% percentile bootstrap interval over those answers (seed 0, 1,000 resamples);
  `*_n` says how many answers.
- wrong_language: how many of the model's checked answers are in another language than
  their item's (lineup.measure.text_checks.check_answer); language_checked: how many could be
  checked (the item has a language and the answer is long enough to tell).
- latin_share: the mean share of Latin letters over the model's answers to items whose
  script is not Latin (e.g. Russian); None without such answers.
- other_script_chars: the letters of the model's answers in neither their item's script nor
  Latin, summed.
- empty, refusals: the model's answers that are empty, or refusals.
- judge_score (with its interval), judged, judge_failures: the figures of the judge that gave
  the study's latest verdict (lineup.score.judge_verdicts.judge_figures; None when no judge ran).

Computed on demand from the stored rows (a study holds at most a few thousand answers per
model); nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineup.core import InputError
from lineup.measure import (
    MeanInterval,
    OverlapScores,
    check_answer,
    overlap_scores,
    summarize_overlap,
    summarize_text_checks,
)
from lineup.score.judge_verdicts import FIGURE_KEYS, judge_figures, latest_judge
from lineup.score.references import item_references
from lineup.store import Generation, SetItemRow, Store
from lineup.study import StudyInfo, study_answers, study_info

# The keys each model gains in study_summary (VLM studies).
SCORE_KEYS = [
    "rouge1_f1",
    "rouge1_f1_ci_low",
    "rouge1_f1_ci_high",
    "rougeL_f1",
    "rougeL_f1_ci_low",
    "rougeL_f1_ci_high",
    "chrf",
    "chrf_ci_low",
    "chrf_ci_high",
    "with_reference",
    "language_checked",
    "wrong_language",
    "latin_share",
    "other_script_chars",
    "empty",
    "refusals",
    *FIGURE_KEYS,
]


@dataclass(frozen=True)
class ScoredAnswer:
    """What the automatic scores read of one complete answer."""

    model: str
    text: str
    reference: str | None
    language: str | None


def _answers(store: Store, info: StudyInfo) -> list[ScoredAnswer]:
    query = study_answers(
        info.id,
        Generation.model_spec,
        Generation.output_text,
        SetItemRow.id,
        SetItemRow.language,
        complete=True,
        with_item="inner",
    ).order_by(Generation.id)
    references = item_references(store, info.id, info.set_id)
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        ScoredAnswer(model, text or "", reference.text if reference else None, language)
        for model, text, item_id, language in rows
        for reference in [references.get(item_id)]
    ]


def _interval(name: str, figure: MeanInterval) -> dict[str, Any]:
    return {name: figure.mean, f"{name}_ci_low": figure.low, f"{name}_ci_high": figure.high}


# How an answer's overlap with its reference is found: overlap_scores, or a caller's memo of it.
Overlap = Callable[[str, str | None], OverlapScores | None]


def model_scores(
    answers: Sequence[ScoredAnswer], overlap_of: Overlap = overlap_scores
) -> dict[str, Any]:
    """The SCORE_KEYS of one model's answers but the judge's."""
    overlap = summarize_overlap(overlap_of(a.text, a.reference) for a in answers)
    checks = summarize_text_checks(check_answer(a.text, a.language) for a in answers)
    return {
        **_interval("rouge1_f1", overlap.rouge1_f1),
        **_interval("rougeL_f1", overlap.rouge_l_f1),
        **_interval("chrf", overlap.chrf),
        "with_reference": overlap.rouge1_f1.n,
        "language_checked": checks.language_checked,
        "wrong_language": checks.wrong_language,
        "latin_share": checks.mean_latin_share,
        "other_script_chars": checks.other_script_chars,
        "empty": checks.empty,
        "refusals": checks.refusals,
    }


def study_scores(store: Store, study_id: int) -> dict[str, dict[str, Any]]:
    """Per model of the study (in its order), the SCORE_KEYS; empty for a voice study."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(f"There is no study {study_id}: give the id of a stored study.")
    if info.kind == "tts":
        return {}
    judge = latest_judge(store, study_id)
    judged = judge_figures(store, study_id, *judge) if judge is not None else {}
    return scores_of(info.models, _answers(store, info), judged)


def scores_of(
    models: Sequence[str],
    answers: Sequence[ScoredAnswer],
    judged: Mapping[str, Mapping[str, Any]],
    overlap_of: Overlap = overlap_scores,
) -> dict[str, dict[str, Any]]:
    """study_scores from parts already read: the complete answers in the order of their ids
    (the bootstrap intervals depend on it) and the latest judge's figures per model."""
    return {
        model: {
            **model_scores([a for a in answers if a.model == model], overlap_of),
            **judged.get(model, dict.fromkeys(FIGURE_KEYS)),
        }
        for model in models
    }

"""A study's automatic scores per model: overlap with the items' reference answers, and the
language and text checks of its answers.

Definitions (the figures themselves are defined in lineup.measure.overlap and
lineup.measure.text_checks):

- Scored answers: the study's `ok` answers (any repeat) of a VLM study. The reference of an
  item is the set's reference answer, else the reference model's answer
  (lineup.score.references); an answer to an item without one has no overlap scores; an item
  without a language has no language check.
- rouge1_f1, rougeL_f1, chrf: the mean over the model's answers that have a reference
  (every answer weighs the same), with its 95% item-bootstrap interval
  (lineup.measure.item_bootstrap, `pooled`: the study's items resampled with all their
  answers, seed 0, 1,000 resamples, one draw for every model; `*_ci_method`
  "item-bootstrap", and `*_ci_reason` saying why there is none: below 5 items with a score, or
  every item giving the same value); with_reference says how many answers.
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

from lineup.core import InputError, _
from lineup.measure import (
    ITEM_RESAMPLES,
    ItemBootstrap,
    ItemInterval,
    Observation,
    OverlapScores,
    bootstrap_by_item,
    check_answer,
    interval_fields,
    overlap_scores,
    summarize_text_checks,
)
from lineup.score.judge_verdicts import FIGURE_KEYS, judge_figures, latest_judge
from lineup.score.references import item_references
from lineup.store import Generation, SetItemRow, Store
from lineup.study import StudyInfo, study_answers, study_info

# The overlap figures, by the key a model's row gives each.
OVERLAP_FIGURES = ("rouge1_f1", "rougeL_f1", "chrf")
INTERVAL_SUFFIXES = ("_ci_low", "_ci_high", "_ci_method", "_ci_reason")
# The keys each model gains in study_summary (VLM studies).
SCORE_KEYS = [
    *(f + suffix for f in OVERLAP_FIGURES for suffix in ("", *INTERVAL_SUFFIXES)),
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
    item_id: int = 0  # the item resampled (the item bootstrap)
    answer_id: int = 0  # its generation


def _answers(store: Store, info: StudyInfo) -> list[ScoredAnswer]:
    query = study_answers(
        info.id,
        Generation.model_spec,
        Generation.output_text,
        SetItemRow.id,
        SetItemRow.language,
        Generation.id,
        complete=True,
        with_item="inner",
    ).order_by(Generation.id)
    references = item_references(store, info.id, info.set_id)
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        ScoredAnswer(
            model, text or "", reference.text if reference else None, language, item_id, gid
        )
        for model, text, item_id, language, gid in rows
        for reference in [references.get(item_id)]
    ]


def figure_fields(name: str, interval: ItemInterval | None) -> dict[str, Any]:
    """A figure's value and its interval's keys (lineup.measure.interval_fields)."""
    value = None if interval is None else interval.value
    return {name: value, **interval_fields(name, interval, "no answer with a score")}


# How an answer's overlap with its reference is found: overlap_scores, or a caller's memo of it.
Overlap = Callable[[str, str | None], OverlapScores | None]


def overlap_bootstraps(
    models: Sequence[str],
    answers: Sequence[ScoredAnswer],
    overlap_of: Overlap = overlap_scores,
    *,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
) -> dict[str, ItemBootstrap]:
    """Per overlap figure (OVERLAP_FIGURES), the pooled item bootstrap of the answers' scores
    (an answer without a reference is left out) for `models`."""
    observations: dict[str, list[Observation]] = {figure: [] for figure in OVERLAP_FIGURES}
    for answer in answers:
        scores = overlap_of(answer.text, answer.reference)
        if scores is None:
            continue
        for figure, value in zip(
            OVERLAP_FIGURES, (scores.rouge1_f1, scores.rouge_l_f1, scores.chrf), strict=True
        ):
            observations[figure].append((answer.item_id, answer.model, answer.answer_id, value))
    return {
        figure: bootstrap_by_item(rows, models=models, pooled=True, resamples=resamples, seed=seed)
        for figure, rows in observations.items()
    }


def model_scores(
    answers: Sequence[ScoredAnswer],
    intervals: Mapping[str, ItemInterval],
    with_reference: int,
) -> dict[str, Any]:
    """The SCORE_KEYS of one model's answers but the judge's, its overlap figures' intervals
    given (per figure)."""
    checks = summarize_text_checks(check_answer(a.text, a.language) for a in answers)
    return {
        **{figure: None for figure in OVERLAP_FIGURES},
        **{
            key: value
            for figure in OVERLAP_FIGURES
            for key, value in figure_fields(figure, intervals.get(figure)).items()
        },
        "with_reference": with_reference,
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
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
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
    bootstraps: Mapping[str, ItemBootstrap] | None = None,
) -> dict[str, dict[str, Any]]:
    """study_scores from parts already read: the complete answers, the latest judge's figures
    per model, and the overlap figures' item bootstraps (overlap_bootstraps of the same
    answers; made here when not given)."""
    if bootstraps is None:
        bootstraps = overlap_bootstraps(models, answers, overlap_of)
    intervals = {figure: boot.intervals() for figure, boot in bootstraps.items()}
    with_reference = {model: 0 for model in models}
    for answer in answers:
        if overlap_of(answer.text, answer.reference) is not None:
            with_reference[answer.model] = with_reference.get(answer.model, 0) + 1
    return {
        model: {
            **model_scores(
                [a for a in answers if a.model == model],
                {name: figures[model] for name, figures in intervals.items() if model in figures},
                with_reference.get(model, 0),
            ),
            **judged.get(model, {key: None for key in FIGURE_KEYS}),
        }
        for model in models
    }

"""Agreement with a chosen model, within one VLM study: how often each other model gives the
chosen model's answer, next to its speed (the quantisation ladder: how often each quantised
variant departs from the full-precision one, and how much faster it is).

Definitions (one place for each; the resampling is lineup.measure.item_bootstrap's):

- answer pair: a model's `ok` answer and the chosen model's `ok` answer to the same item and
  the same repeat (repeat k of both is seeded seed + k). An answer whose counterpart is
  missing or failed is left out; `pairs` counts the pairs, `items` the items with one.
- identical_share: the mean over items of the share of the item's pairs whose two texts are
  the same string, character for character (as the repeats' identical_share); with one
  repeat, the share of items answered identically.
- rougeL_to_chosen: the mean over items of the mean over the item's pairs of ROUGE-L F1
  between the two answers (lineup.measure.overlap.answer_similarity: symmetric; two answers
  without tokens alike, 1; one with and one without, 0).
- each with its 95% item-bootstrap interval (the items resampled 1,000 times, seed 0, every
  model over the same draws; none below 5 items or at zero width, with the reason in
  `*_ci_reason`).
- median_tokens_per_s: the model's median decode rate over its `ok` answers (the study's
  speed table), beside the chosen model's (`chosen_median_tokens_per_s`).
- judge: not measured here. Lineup's pairwise judge compares each answer with the study's
  reference model (lineup.score.judge), which runs as a study of its own; a judge against a
  model of the study itself is not run, so no judge figure is given.
"""

from __future__ import annotations

from typing import Any

from lineup.core import OK, InputError
from lineup.measure import ITEM_RESAMPLES, answer_similarity, bootstrap_by_item, clean_number
from lineup.report.result import StudyResult

AGAINST_KEYS = [
    "model",
    "pairs",
    "items",
    "identical_share",
    "identical_ci_low",
    "identical_ci_high",
    "identical_ci_reason",
    "rougeL_to_chosen",
    "rougeL_ci_low",
    "rougeL_ci_high",
    "rougeL_ci_reason",
    "median_tokens_per_s",
]


def agreement_with(
    result: StudyResult, chosen: str, *, resamples: int = ITEM_RESAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Each other model's agreement with `chosen` (module docstring), in the study's order.
    InputError when the study is of voices or has no model `chosen`."""
    info = result.study
    if info.kind == "tts":
        raise InputError(
            f"Study {info.id} is a voice study: agreement with a chosen model compares "
            "answers' texts, so it is for VLM studies."
        )
    if chosen not in info.models:
        raise InputError(
            f"Study {info.id} has no model {chosen!r}; its models: {', '.join(info.models)}."
        )
    texts = {(a.item_id, a.model, a.repeat): a.text for a in result.answers if a.status == OK}
    identical: list[tuple[int, str, tuple[int, int], float]] = []
    similar: list[tuple[int, str, tuple[int, int], float]] = []
    others = [m for m in info.models if m != chosen]
    for (item, model, repeat), text in texts.items():
        if model == chosen:
            continue
        theirs = texts.get((item, chosen, repeat))
        if theirs is None:
            continue
        identical.append((item, model, (item, repeat), float(text == theirs)))
        similar.append((item, model, (item, repeat), answer_similarity(text, theirs)))
    same = bootstrap_by_item(identical, models=others, resamples=resamples, seed=seed)
    rouge = bootstrap_by_item(similar, models=others, resamples=resamples, seed=seed)
    same_ci, rouge_ci = same.intervals(), rouge.intervals()
    speed = {row["model"]: row["median_tokens_per_s"] for row in result.speed_rows}
    rows = []
    for model in others:
        s, r = same_ci[model], rouge_ci[model]
        rows.append(
            {
                "model": model,
                "pairs": sum(1 for _, m, _, _ in identical if m == model),
                "items": s.items,
                "identical_share": s.value,
                "identical_ci_low": s.ci_low,
                "identical_ci_high": s.ci_high,
                "identical_ci_reason": s.reason,
                "rougeL_to_chosen": r.value,
                "rougeL_ci_low": r.ci_low,
                "rougeL_ci_high": r.ci_high,
                "rougeL_ci_reason": r.reason,
                "median_tokens_per_s": speed.get(model),
            }
        )
    return {
        "model": chosen,
        "chosen_median_tokens_per_s": clean_number(speed.get(chosen)),
        "method": "item-bootstrap",
        "judge": None,
        "models": [{key: clean_number(row[key]) for key in AGAINST_KEYS} for row in rows],
    }

"""Two studies compared: a baseline and a candidate over the same items, model by model.

Typical use: the same model before and after a prompt change, or before and after
quantisation (the candidate's model matched to the baseline's with `matches`).

Definitions (one place for each; the resampling is lineup.measure.item_bootstrap's):

- comparable: two different studies of the same kind (VLM or voices) that share at least one
  item. Anything else is an InputError that says what to do.
- shared item: over the same set, an item is itself (its id). Over two sets, an item of the
  baseline's set and one of the candidate's are the same item when they hold the same content:
  the same question text and image (by hash) for VLM sets, the same sentence for voice sets;
  the k-th such item of one set is matched with the k-th of the other (a set may ask one
  question twice). References, languages and tags do not enter the match. Items of one study
  only are counted (`items.baseline_only`, `items.candidate_only`) and left out.
- matched models: by default every model (spec) in both studies, in the candidate's order;
  when no spec is in both and each study has exactly one model, those two; or the pairs
  given (`matches`: baseline model -> candidate model). Each pair is reported under the
  candidate's model (`model`) with the baseline's beside it (`baseline_model`).
- figures, each an answer value (lineup.measure.item_bootstrap): `relevance` (each counted
  label: relevant 1, partial 0.5, irrelevant 0), `rouge1_f1`, `rougeL_f1` and `chrf` (each
  `ok` answer's overlap with its study's reference for the item, lineup.measure.overlap, when
  there is one), `judge` (each answer's figure from the judge's latest verdict, for one judge
  and protocol that scored both studies: the candidate's latest that the baseline has too),
  `wer` (voices: each clip's word error rate; lower is better). An item score is the mean
  over a model's answers to the item of each answer's value (its repeats weigh the same).
- paired difference: candidate minus baseline over the shared items on which both have an item
  score, with its 95% item-bootstrap interval (bootstrap_by_item with the two studies as the
  two "models", the item as the unit, seed 0, 1,000 resamples; no interval below 5 items or
  at zero width, with the reason) and `share_candidate_better`: the share of resamples in which
  the candidate is better (a higher figure; a lower one for `wer`), ties counted half.
  `baseline` and `candidate` are each side's figure over those same items. `decided`: the
  interval excludes 0.
- per item: for each matched model, figure and shared item with a score in both studies, the
  two item scores and `change` = candidate - baseline.
- regression: a per-item entry where the candidate is worse than the baseline by more than
  rounding (REGRESSION_TOLERANCE, 1e-9): a lower item score (a higher one for `wer`). Every
  such drop is listed, the worst first (largest drop, then figure, model and item), so the
  first entries are the ones to read; `improvements` the same the other way.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lineup.core import OK, InputError
from lineup.measure import (
    ITEM_RESAMPLES,
    RELEVANCE_SCORE,
    ItemBootstrap,
    PairedDifference,
    bootstrap_by_item,
    clean_number,
)
from lineup.report.result import StudyResult
from lineup.score import StudyJudge
from lineup.study import StudyItem

BASELINE = "baseline"
CANDIDATE = "candidate"
REGRESSION_TOLERANCE = 1e-9
# Figures in the order they are reported; those where lower is better.
VLM_FIGURES = ("relevance", "judge", "rouge1_f1", "rougeL_f1", "chrf")
TTS_FIGURES = ("relevance", "wer")
LOWER_IS_BETTER = frozenset({"wer"})

# The keys of each entry, for scripts and the README.
DIFFERENCE_KEYS = [
    "model",
    "baseline_model",
    "figure",
    "baseline",
    "candidate",
    "diff",
    "ci_low",
    "ci_high",
    "share_candidate_better",
    "decided",
    "items",
    "reason",
    "method",
]
ITEM_KEYS = ["model", "item", "baseline_item", "question", "figure", "baseline", "candidate"]
ITEM_KEYS += ["change"]

# item key -> (item id in the baseline's set, item id in the candidate's set)
ItemPairs = dict[Hashable, tuple[int, int]]
# (item key, answer id, value)
AnswerValues = list[tuple[Hashable, int, float]]


@dataclass(frozen=True)
class SharedItems:
    """The items both studies hold, keyed so the two sides meet, and how they were matched."""

    pairs: ItemPairs
    text: dict[Hashable, str]  # the candidate's question or sentence
    matched_by: str
    baseline_only: int
    candidate_only: int


def _content(item: StudyItem, kind: str) -> tuple[str, str | None]:
    return (item.text, None) if kind == "tts" else (item.text, item.image_hash)


def shared_items(baseline: StudyResult, candidate: StudyResult) -> SharedItems:
    """The shared items (module docstring), in the candidate's order."""
    base_items, cand_items = baseline.plan.items, candidate.plan.items
    if baseline.study.set_id == candidate.study.set_id:
        base_ids = {item.item_id for item in base_items}
        pairs: ItemPairs = {
            item.item_id: (item.item_id, item.item_id)
            for item in cand_items
            if item.item_id in base_ids
        }
        matched_by = "item id (the same set)"
    else:
        kind = candidate.study.kind

        def keyed(items: Sequence[StudyItem]) -> dict[Hashable, int]:
            seen: dict[tuple[str, str | None], int] = {}
            out: dict[Hashable, int] = {}
            for item in items:
                content = _content(item, kind)
                k = seen.get(content, 0)
                seen[content] = k + 1
                out[(*content, k)] = item.item_id
            return out

        base_keys, cand_keys = keyed(base_items), keyed(cand_items)
        pairs = {key: (base_keys[key], cid) for key, cid in cand_keys.items() if key in base_keys}
        matched_by = "content (question and image, or sentence)"
    by_candidate_id = {item.item_id: item.text for item in cand_items}
    return SharedItems(
        pairs,
        {key: by_candidate_id[cid] for key, (_, cid) in pairs.items()},
        matched_by,
        len(base_items) - len(pairs),
        len(cand_items) - len(pairs),
    )


def matched_models(
    baseline: StudyResult, candidate: StudyResult, matches: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(baseline model, candidate model) pairs (module docstring); InputError for a given pair
    naming a model its study lacks, or when there is no pair."""
    base_models, cand_models = baseline.study.models, candidate.study.models
    if matches:
        for base, cand in matches.items():
            for model, study in ((base, baseline), (cand, candidate)):
                if model not in study.study.models:
                    raise InputError(
                        f"Study {study.study.id} has no model {model!r}; its models: "
                        f"{', '.join(study.study.models)}."
                    )
        return list(matches.items())
    pairs = [(m, m) for m in cand_models if m in base_models]
    if not pairs and len(base_models) == 1 and len(cand_models) == 1:
        pairs = [(base_models[0], cand_models[0])]
    if not pairs:
        raise InputError(
            f"No model is in both study {baseline.study.id} and study {candidate.study.id}: "
            "name the pairs to compare with --match BASELINE_MODEL=CANDIDATE_MODEL."
        )
    return pairs


def _check(baseline: StudyResult, candidate: StudyResult) -> None:
    b, c = baseline.study, candidate.study
    if b.id == c.id:
        raise InputError(
            f"Study {b.id} compared with itself shows no difference: give two studies."
        )
    if b.kind != c.kind:

        def what(kind: str) -> str:
            return "a voice study" if kind == "tts" else "a VLM study"

        raise InputError(
            f"Study {b.id} is {what(b.kind)} and study {c.id} {what(c.kind)}: compare two "
            "studies of the same kind."
        )


def common_judge(baseline: StudyResult, candidate: StudyResult) -> StudyJudge | None:
    """The candidate's latest judge and protocol that scored the baseline too, if any."""
    base = set(baseline.judges)
    return next((judge for judge in candidate.judges if judge in base), None)


def _item_keys(result: StudyResult, shared: SharedItems, side: int) -> dict[int, Hashable]:
    """This study's item id -> the shared item key (side 0: baseline, 1: candidate)."""
    return {ids[side]: key for key, ids in shared.pairs.items()}


def answer_values(
    result: StudyResult,
    figure: str,
    model: str,
    keys: Mapping[int, Hashable],
    judge: StudyJudge | None,
) -> AnswerValues:
    """The observations of one model's `figure` on the shared items (module docstring)."""
    answers = [
        a for a in result.answers if a.model == model and a.status == OK and a.item_id in keys
    ]
    out: AnswerValues = []
    if figure == "relevance":
        for a in answers:
            for relevance, n in sorted(result.label_counts.get(a.id, {}).items()):
                out += [(keys[a.item_id], a.id, RELEVANCE_SCORE[relevance])] * n
    elif figure == "judge":
        if judge is None:
            return []
        verdicts = result.verdicts(judge)
        for a in answers:
            verdict = verdicts.get(a.id)
            if verdict is not None and verdict.figure is not None:
                out.append((keys[a.item_id], a.id, float(verdict.figure)))
    elif figure == "wer":
        out = [(keys[a.item_id], a.id, float(a.wer)) for a in answers if a.wer is not None]
    else:
        field = {"rouge1_f1": "rouge1_f1", "rougeL_f1": "rouge_l_f1", "chrf": "chrf"}[figure]
        for a in answers:
            reference = result.references.get(a.item_id)
            scores = result.overlap(a.text, reference.text if reference else None)
            if scores is not None:
                out.append((keys[a.item_id], a.id, float(getattr(scores, field))))
    return out


def _paired(
    boot: ItemBootstrap,
) -> tuple[PairedDifference, list[tuple[Hashable, float, float]], float | None, float | None]:
    """The candidate-minus-baseline difference, per shared item the two item scores, and each
    side's figure over the items both have a score on."""
    difference = boot.difference(CANDIDATE, BASELINE)
    if not boot.items:
        return difference, [], None, None
    b, c = boot.models.index(BASELINE), boot.models.index(CANDIDATE)
    both = (boot.counts[:, b] > 0) & (boot.counts[:, c] > 0)
    rows = [
        (boot.items[i], float(boot.sums[i, b]), float(boot.sums[i, c]))
        for i in np.flatnonzero(both)
    ]
    if not rows:
        return difference, rows, None, None
    return (
        difference,
        rows,
        float(np.mean([r[1] for r in rows])),
        float(np.mean([r[2] for r in rows])),
    )


def compare_results(
    baseline: StudyResult,
    candidate: StudyResult,
    *,
    matches: Mapping[str, str] | None = None,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """The comparison as `study compare --json` prints it (module docstring); InputError when
    the two are not comparable."""
    _check(baseline, candidate)
    shared = shared_items(baseline, candidate)
    if not shared.pairs:
        raise InputError(
            f"Study {baseline.study.id} (set {baseline.study.set_name!r}) and study "
            f"{candidate.study.id} (set {candidate.study.set_name!r}) share no item: compare "
            "two studies of the same set, or of sets that hold the same questions and images "
            "(or sentences)."
        )
    pairs = matched_models(baseline, candidate, matches)
    judge = common_judge(baseline, candidate) if candidate.study.kind != "tts" else None
    figures = TTS_FIGURES if candidate.study.kind == "tts" else VLM_FIGURES
    base_keys, cand_keys = _item_keys(baseline, shared, 0), _item_keys(candidate, shared, 1)
    speeds = {
        side: {row["model"]: row["median_tokens_per_s"] for row in result.speed_rows}
        for side, result in ((BASELINE, baseline), (CANDIDATE, candidate))
    }
    differences: list[dict[str, Any]] = []
    per_item: list[dict[str, Any]] = []
    for base_model, cand_model in pairs:
        for figure in figures:
            if figure == "judge" and judge is None:
                continue
            observations = [
                (key, side, (side, gid), value)
                for side, result, model, keys in (
                    (BASELINE, baseline, base_model, base_keys),
                    (CANDIDATE, candidate, cand_model, cand_keys),
                )
                for key, gid, value in answer_values(result, figure, model, keys, judge)
            ]
            # The items in the candidate's order, so the resamples do not hang on who came first.
            order = {key: i for i, key in enumerate(shared.pairs)}
            observations.sort(key=lambda o: order[o[0]])
            boot = bootstrap_by_item(
                observations, models=[BASELINE, CANDIDATE], resamples=resamples, seed=seed
            )
            difference, rows, base_value, cand_value = _paired(boot)
            if not rows:
                continue
            lower = figure in LOWER_IS_BETTER
            share = difference.share_a_better
            if share is not None and lower:
                share = 1.0 - share
            differences.append(
                {
                    "model": cand_model,
                    "baseline_model": base_model,
                    "figure": figure,
                    "baseline": base_value,
                    "candidate": cand_value,
                    "diff": difference.diff,
                    "ci_low": difference.ci_low,
                    "ci_high": difference.ci_high,
                    "share_candidate_better": share,
                    "decided": difference.decided,
                    "items": difference.items,
                    "reason": difference.reason,
                    "method": difference.method,
                }
            )
            for key, base_score, cand_score in rows:
                base_id, cand_id = shared.pairs[key]
                per_item.append(
                    {
                        "model": cand_model,
                        "item": cand_id,
                        "baseline_item": base_id,
                        "question": shared.text[key],
                        "figure": figure,
                        "baseline": base_score,
                        "candidate": cand_score,
                        "change": cand_score - base_score,
                    }
                )

    def worse_by(row: dict[str, Any]) -> float:
        """How much worse the candidate is on this item (negative: better)."""
        change = float(row["change"])
        return change if row["figure"] in LOWER_IS_BETTER else -change

    figure_order = {figure: i for i, figure in enumerate(figures)}

    def ranked(rows: list[dict[str, Any]], sign: float) -> list[dict[str, Any]]:
        return sorted(
            rows,
            key=lambda r: (-sign * worse_by(r), figure_order[r["figure"]], r["model"], r["item"]),
        )

    regressions = [r for r in per_item if worse_by(r) > REGRESSION_TOLERANCE]
    improvements = [r for r in per_item if worse_by(r) < -REGRESSION_TOLERANCE]

    def side(result: StudyResult) -> dict[str, Any]:
        info = result.study
        return {
            "study_id": info.id,
            "set": info.set_name,
            "kind": info.kind,
            "status": info.status,
            "models": list(info.models),
            "items": len(result.plan.items),
        }

    document = {
        "baseline": side(baseline),
        "candidate": side(candidate),
        "items": {
            "shared": len(shared.pairs),
            "baseline_only": shared.baseline_only,
            "candidate_only": shared.candidate_only,
            "matched_by": shared.matched_by,
        },
        "judge": None if judge is None else {"spec": judge.spec, "protocol": judge.protocol},
        "models": [
            {
                "model": cand_model,
                "baseline_model": base_model,
                "baseline_median_tokens_per_s": speeds[BASELINE].get(base_model),
                "candidate_median_tokens_per_s": speeds[CANDIDATE].get(cand_model),
            }
            for base_model, cand_model in pairs
        ],
        "differences": differences,
        "per_item": per_item,
        "regressions": ranked(regressions, 1.0),
        "improvements": ranked(improvements, -1.0),
    }
    return _clean(document)


def _clean(value: Any) -> Any:
    """Plain JSON values: numbers cleaned (lineup.measure.clean_number), NaN as None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    return clean_number(value)

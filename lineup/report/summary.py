"""The study as `study show --json` prints it, from its StudyResult: its state, how many of its
answers are final out of how many it asks for, and per model (in the relevance table's order)
the figures of SUMMARY_KEYS, as plain JSON values. Definitions: lineup.report.tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineup.core import FINAL_STATUSES
from lineup.measure import clean_number
from lineup.report.tables import LABEL_FIGURES, SPEED_COLUMNS, _models
from lineup.score import SCORE_KEYS, alpha_reading, judge_agreement, judge_label_pairs

if TYPE_CHECKING:
    from lineup.report.result import StudyResult

# A model's Bradley-Terry rating from the labels on shared items (lineup.measure.bradley_terry):
# none below MIN_ITEMS items (`bt_reason` says why), none for a model that won or lost every
# comparison (flagged instead). `bt_rank` is the rank from the decided pairwise differences of
# the relevance score (lineup.measure.pairs), `rank_relevance` the point figure it follows.
RANKING_KEYS = [
    "bt_rating",
    "bt_ci_low",
    "bt_ci_high",
    "bt_rank",
    "bt_items",
    "won_every_comparison",
    "lost_every_comparison",
    "bt_reason",
    "rank_relevance",
]
# The same from the labeling queue's pairwise votes, and the votes counted (lineup.study.arena).
ARENA_KEYS = ["arena_rating", "arena_ci_low", "arena_ci_high", "arena_rank", "arena_votes"]
# The keys of each model's entry in study_summary, by kind.
_LABEL_KEYS = ["model", "requests", "ok", "errors", "labeled", *LABEL_FIGURES]
SUMMARY_KEYS = {
    "vlm": [
        *_LABEL_KEYS,
        "output_tokens",
        "time_s",
        "tokens_per_time_s",
        "median_ttft_s",
        "median_tokens_per_s",
        "mean_chars",
        "chars_per_s",
        "identical_repeats",
        "identical_share",
        "mean_repeat_rougeL",
        *SCORE_KEYS,
        *RANKING_KEYS,
        *ARENA_KEYS,
    ],
    "tts": [
        *_LABEL_KEYS,
        "mean_wer",
        "corpus_wer",
        "cer",
        "gen_s_per_sentence",
        "stt_s_per_sentence",
        "rtf",
        "peak_mem_mb",
        *RANKING_KEYS,
        *ARENA_KEYS,
    ],
}
VOICE_KEYS = (
    "mean_wer",
    "corpus_wer",
    "cer",
    "gen_s_per_sentence",
    "stt_s_per_sentence",
    "rtf",
    "peak_mem_mb",
)


def _by_model(result: StudyResult) -> dict[str, dict[str, Any]]:
    """Every figure of each model, before the keys of its kind are picked."""
    by_model: dict[str, dict[str, Any]] = {}
    for row in result.relevance_rows(None):
        by_model[row["model"]] = {
            "model": row["model"],
            "requests": row["answers"],
            "ok": row["ok"],
            "errors": row["errors"],
            "labeled": row["requests"],
            **{key: row[key] for key in LABEL_FIGURES},
        }
    if result.study.kind == "tts":
        for row in result.voice_rows:
            by_model[row["model"]] |= {key: row[key] for key in VOICE_KEYS}
    else:
        for row in result.speed_rows:
            by_model[row["model"]] |= {key: row[key] for key in SPEED_COLUMNS if key != "ok"}
        for row in result.repeat_rows:
            for key in ("identical_repeats", "identical_share", "mean_repeat_rougeL"):
                by_model[row["model"]][key] = row[key]
        for model, scores in result.scores.items():
            by_model[model] |= scores
    for model, rated in result.ranking.items():
        by_model[model] |= {
            "bt_rating": rated.rating,
            "bt_ci_low": rated.ci_low,
            "bt_ci_high": rated.ci_high,
            "bt_items": rated.items,
            "won_every_comparison": rated.won_every_comparison,
            "lost_every_comparison": rated.lost_every_comparison,
            "bt_reason": rated.reason,
        }
    for model, rank in result.ranks.items():
        if model in by_model:
            by_model[model] |= {"bt_rank": rank, "rank_relevance": result.rank_points[model]}
    for model, voted in result.arena.items():
        if voted.battles:  # no vote: every arena figure None
            by_model[model] |= dict(zip(ARENA_KEYS, voted, strict=True))
    return by_model


def _agreement(result: StudyResult) -> dict[str, Any]:
    agreement = result.agreement
    return {
        "alpha": clean_number(agreement.alpha),
        "alpha_reading": alpha_reading(agreement.alpha),
        "raw_agreement": clean_number(agreement.raw),
        "kappa_pairs": [
            {
                "a": p.a,
                "b": p.b,
                "kappa": clean_number(p.kappa),
                "raw_agreement": clean_number(p.raw),
                "n_shared": p.n_shared,
            }
            for p in agreement.kappa_pairs
        ],
        "n_items": agreement.n_items,
        "judge": _judge_agreement(result),
    }


def _judge_agreement(result: StudyResult) -> dict[str, Any] | None:
    """Spearman and kappa between the study's latest judge and the people
    (lineup.score's agreement), over each counted label beside the judge's score of the same
    answer."""
    judge = result.judge
    if judge is None:
        return None
    scores, labels = judge_label_pairs(
        result.store, result.study.id, judge.spec, judge.protocol, verdicts=result.verdicts(judge)
    )
    agreed = judge_agreement(scores, labels)
    return {
        "judge": judge.spec,
        "protocol": judge.protocol,
        "spearman": clean_number(agreed.spearman),
        "kappa": clean_number(agreed.kappa),
        "n": agreed.n,
    }


def summarize(result: StudyResult) -> dict[str, Any]:
    """The summary (see the module docstring)."""
    info, plan = result.study, result.plan
    by_model = _by_model(result)
    judge = result.judge
    keys = SUMMARY_KEYS["tts" if info.kind == "tts" else "vlm"]
    final = (
        n for counts in result.states.values() for s, n in counts.items() if s in FINAL_STATUSES
    )
    return {
        "study_id": info.id,
        "set": info.set_name,
        "kind": info.kind,
        "status": info.status,
        "done": sum(final),
        "total": plan.total,
        "items": len(plan.items),
        "items_with_reference": (
            None
            if info.kind == "tts"
            else len({item.item_id for item in plan.items} & set(result.references))
        ),
        # The judge whose figures the models carry, and the reference model shown apart.
        "judge": None if judge is None else {"spec": judge.spec, "protocol": judge.protocol},
        "reference": result.reference,
        "agreement": _agreement(result),
        # Every pair of models on each figure, the better first (lineup.measure.pairs).
        "pairs": [
            {key: clean_number(value) for key, value in pair.as_dict().items()}
            for pair in result.pairs
        ],
        "models": [
            {key: clean_number(by_model[model].get(key)) for key in keys}
            for model in _models(info, by_model)
        ],
    }

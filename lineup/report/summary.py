"""The study as `study show --json` prints it, from its StudyResult: its state, how many of its
answers are final out of how many it asks for, and per model (in the relevance table's order)
the figures of SUMMARY_KEYS, as plain JSON values. Definitions: lineup.report.tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineup.core import FINAL_STATUSES
from lineup.measure import StopLabeling, clean_number
from lineup.report.tables import (
    CONTENTION_COLUMNS,
    LABEL_FIGURES,
    SPEED_COLUMNS,
    _models,
    _with_interval,
)
from lineup.score import SCORE_KEYS, JudgeReliability, StudyJudge, alpha_reading, judge_agreement

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
# The cold answers apart from the speed figures, the energy, the GPU memory (lineup.report.tables).
_HARDWARE_KEYS = ("median_energy_j", "energy_source", "gpu_mem_mb")
COLD_AND_ENERGY_KEYS = {
    "vlm": (
        "cold_answers",
        "cold_median_ttft_s",
        "cold_median_total_s",
        "cold_median_tokens_per_s",
        *_HARDWARE_KEYS,
    ),
    "tts": ("cold_answers", *_HARDWARE_KEYS),
}
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
        *CONTENTION_COLUMNS,
        *COLD_AND_ENERGY_KEYS["vlm"],
        "identical_repeats",
        "identical_share",
        "mean_repeat_rougeL",
        *SCORE_KEYS,
        *RANKING_KEYS,
        *ARENA_KEYS,
    ],
    "tts": [
        *_LABEL_KEYS,
        *_with_interval("mean_wer"),
        "corpus_wer",
        *_with_interval("cer"),
        "gen_s_per_sentence",
        "stt_s_per_sentence",
        "rtf",
        "peak_mem_mb",
        *CONTENTION_COLUMNS,
        *COLD_AND_ENERGY_KEYS["tts"],
        *RANKING_KEYS,
        *ARENA_KEYS,
    ],
}
VOICE_KEYS = (
    *_with_interval("mean_wer"),
    "corpus_wer",
    *_with_interval("cer"),
    "gen_s_per_sentence",
    "stt_s_per_sentence",
    "rtf",
    "peak_mem_mb",
    *CONTENTION_COLUMNS,
    *COLD_AND_ENERGY_KEYS["tts"],
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
    answer, over all and per model (lineup.score.judge_reliability)."""
    judge = result.judge
    if judge is None:
        return None
    labels = result.judge_labels(judge)
    agreed = judge_agreement([j.score for j in labels], [j.relevance for j in labels])
    return {
        "judge": judge.spec,
        "protocol": judge.protocol,
        "spearman": clean_number(agreed.spearman),
        "kappa": clean_number(agreed.kappa),
        "n": agreed.n,
        "models": _agreement_by_model(result.reliability(judge)),
    }


def _agreement_by_model(reliability: JudgeReliability) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "spearman": clean_number(agreed.spearman),
            "kappa": clean_number(agreed.kappa),
            "n": agreed.n,
        }
        for model, agreed in reliability.by_model.items()
    ]


def _reliability(result: StudyResult, judge: StudyJudge) -> dict[str, Any]:
    """One judge's entry of `judge_reliability` (lineup.score.judge_reliability): its
    position bias (pairwise), the answers it disputes, its agreement with the people per
    model."""
    reliability = result.reliability(judge)
    bias = reliability.bias
    numbers = {item.item_id: item.position + 1 for item in result.plan.items}
    item_of = {answer.id: numbers.get(answer.item_id) for answer in result.answers}
    disputes = reliability.disputes.values()
    disputed_by_model: dict[str, int] = {}
    for dispute in disputes:
        disputed_by_model[dispute.model] = disputed_by_model.get(dispute.model, 0) + 1
    return {
        "judge": judge.spec,
        "protocol": judge.protocol,
        "pairs": None if bias is None else bias.pairs,
        "first_wins": None if bias is None else bias.first_wins,
        "second_wins": None if bias is None else bias.second_wins,
        "ties": None if bias is None else bias.ties,
        "first_position_win_rate": None
        if bias is None
        else clean_number(bias.first_position_win_rate),
        "flips": None if bias is None else bias.flips,
        "flip_rate": None if bias is None else clean_number(bias.flip_rate),
        "disputed": len(reliability.disputes),
        "flipped": sum(d.flipped for d in disputes),
        "disagreed": sum(bool(d.disagreed_with) for d in disputes),
        "models": [
            entry | {"disputed": disputed_by_model.get(entry["model"], 0)}
            for entry in _agreement_by_model(reliability)
        ],
        "disputed_answers": [
            {
                "generation_id": d.generation_id,
                "model": d.model,
                "item": item_of.get(d.generation_id),
                "flipped": d.flipped,
                "disagreed_with": list(d.disagreed_with),
            }
            for d in disputes
        ],
    }


def stop_labeling_summary(stop: StopLabeling) -> dict[str, Any]:
    """`stop_labeling` of `study show --json` (lineup.measure.stopping defines each key):
    the issue's p_leader_best, leader, undecided_pairs (a = the leader) and items_needed,
    with the state, the reasons where a figure is None, and how it is estimated."""
    return {
        "figure": "relevance",
        "state": stop.state,
        "can_stop": stop.can_stop,
        "leader": stop.leader,
        "leader_value": clean_number(stop.leader_value),
        "p_leader_best": clean_number(stop.p_leader_best),
        "p_leader_best_reason": stop.p_leader_best_reason,
        "pairs_of_interest": "the leader against each other model",
        "decided_pairs": stop.decided_pairs,
        "undecided_pairs": [
            {
                "a": pair.a,
                "b": pair.b,
                "diff": clean_number(pair.diff),
                "ci_low": clean_number(pair.ci_low),
                "ci_high": clean_number(pair.ci_high),
                "share_a_better": clean_number(pair.share_a_better),
                "items": pair.items,
                "items_needed": pair.items_needed,
                "items_needed_reason": pair.reason,
                "items_left": pair.items_left,
                "beyond_set": pair.beyond_set,
            }
            for pair in stop.undecided_pairs
        ],
        "items_needed": stop.items_needed,
        "items_needed_reason": stop.items_needed_reason,
        "items_needed_method": stop.method,
        "beyond_set": stop.beyond_set,
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
        # lineup.run.contention: how its models were timed (studies from before: parallel).
        "timing": info.params.get("timing") or "parallel",
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
        # Every judge that ran, the latest first: how far its verdicts can be trusted.
        "judge_reliability": [_reliability(result, judge) for judge in result.judges],
        "stop_labeling": stop_labeling_summary(result.stop_labeling),
        # Every pair of models on each figure, the better first (lineup.measure.pairs).
        "pairs": [
            {key: clean_number(value) for key, value in pair.as_dict().items()}
            for pair in result.pairs
        ],
        # What ran where: the machine, and per model what its server said (None: not asked).
        "machine": result.machine,
        "models": [
            {key: clean_number(by_model[model].get(key)) for key in keys}
            | {"provenance": result.provenance.get(model)}
            for model in _models(info, by_model)
        ],
    }

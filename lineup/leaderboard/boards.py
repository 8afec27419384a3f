"""The leaderboards of the whole store (or of the rows a filter keeps), per model and per voice,
with the figures of lineup.measure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineup.core import OK
from lineup.leaderboard.counts import LeaderboardCounts, leaderboard_counts
from lineup.leaderboard.filters import LeaderboardFilter
from lineup.measure import (
    COLD_FIGURES,
    RATED,
    TIMED,
    cold_figures,
    failure_counts,
    label_figures,
    median_of_middle,
    relevance_order,
    wer_figures,
)
from lineup.store import Store


def store_medians(
    source: LeaderboardCounts, spec: str, columns: Sequence[str], present: Sequence[str]
) -> tuple[int, dict[str, float | None]]:
    """How many `ok` generations of `spec` have every column of `present`, and the median of
    each of `columns` over them (middle values read by the database)."""
    n, middles = source.middle_values(spec, columns, present)
    return n, {column: median_of_middle(middle) for column, middle in middles.items()}


def _contention(source: LeaderboardCounts, spec: str) -> dict[str, int | None]:
    """The smallest and largest concurrent_max over the model's `ok` answers
    (lineup.measure.contention), each from one end of its index."""
    ends = {
        "concurrent_min": source.largest_value(spec, "concurrent_max", smallest=True),
        "concurrent_max": source.largest_value(spec, "concurrent_max"),
    }
    return {key: None if value is None else int(value) for key, value in ends.items()}


def vlm_leaderboard(
    store: Store, leaderboard_filter: LeaderboardFilter | None = None
) -> list[dict[str, Any]]:
    """Per model: labels (latest per annotator), answers (its `ok` generations) and the
    medians of the warm ones, the cold ones apart (lineup.measure.figures.cold_figures); with a
    filter, over the generations and labels it keeps (lineup.leaderboard.filters). Best first
    by `relevance_order`, then by spec. `concurrent_max` (`concurrent_min`): the most (fewest)
    other requests in flight on its host during one of its `ok` answers
    (lineup.measure.contention; None when none was counted)."""
    source = leaderboard_counts(store, "vlm", leaderboard_filter)
    labels = source.label_counts()
    rows = []
    for model in source.specs:
        states = source.status_counts[model]
        timed, medians = store_medians(source, model, TIMED, TIMED)
        _, rate = store_medians(source, model, RATED, RATED)
        rows.append(
            {
                "model": model,
                **label_figures(labels[model]),
                "generations": sum(states.values()),
                "answers": states.get(OK, 0),
                **failure_counts(states),
                "timed": timed,
                "median_ttft_s": medians["ttft_s"],
                "median_total_s": medians["total_s"],
                "median_tokens_per_s": rate["tokens_per_s"],
                **_contention(source, model),
                **cold_figures("vlm", source.cold_values(model, COLD_FIGURES["vlm"])),
            }
        )
    rows.sort(key=lambda r: (*relevance_order(r), r["model"]))
    return rows


# The keys of `leaderboard --kind tts --json`: the first ones as they always were, where `n` is
# the answers, then the counts under the names that say what they are.
TTS_COLUMNS = [
    "voice",
    "n",
    "answers",
    "labels",
    "mean_wer",
    "mean_cer",
    "median_rtf",
    "median_gen_s",
    "peak_mem_mb",
    "pct_relevant",
    "concurrent_min",
    "concurrent_max",
    "cold_answers",
    "cold_median_rtf",
    "cold_median_gen_s",
]


def tts_leaderboard(
    store: Store, leaderboard_filter: LeaderboardFilter | None = None
) -> list[dict[str, Any]]:
    """One row per voice over every stored TTS clip (with a filter, over the clips and labels
    it keeps: lineup.leaderboard.filters), best mean WER first."""
    source = leaderboard_counts(store, "tts", leaderboard_filter)
    labels = source.label_counts()
    rows = []
    for voice in source.specs:
        states = source.status_counts[voice]
        counts = label_figures(labels[voice])
        rows.append(
            {
                "voice": voice,
                "answers": states.get(OK, 0),
                **failure_counts(states),
                **wer_figures(source.scored_clips(voice)),
                "median_rtf": store_medians(source, voice, ["rtf"], ["rtf"])[1]["rtf"],
                "median_gen_s": store_medians(source, voice, ["gen_s"], ["gen_s"])[1]["gen_s"],
                "peak_mem_mb": source.largest_value(voice, "peak_mem_mb"),
                **_contention(source, voice),
                "labels": counts["labels"],
                "relevant": counts["relevant"],
                "partial": counts["partial"],
                "irrelevant": counts["irrelevant"],
                "pct_relevant": counts["pct_relevant"],
                "pct_relevant_ci_low": counts["pct_relevant_ci_low"],
                "pct_relevant_ci_high": counts["pct_relevant_ci_high"],
                "pct_relevant_ci_method": counts["pct_relevant_ci_method"],
                **cold_figures("tts", source.cold_values(voice, COLD_FIGURES["tts"])),
            }
        )
    rows.sort(key=lambda r: (r["mean_wer"] is None, r["mean_wer"] or 0.0, r["voice"]))
    return rows

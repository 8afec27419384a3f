"""Every figure's definition and arithmetic, on values in memory: timing, live figures, WER,
languages, overlap, text checks, shares and intervals, item-bootstrap intervals, when to stop
labeling, medians, Bradley-Terry."""

from lineup.measure import bradley_terry as _bradley_terry
from lineup.measure import overlap as _overlap
from lineup.measure import pairs as _pairs
from lineup.measure import stopping as _stopping
from lineup.measure import wer as _wer
from lineup.measure.bradley_terry import (
    BOOTSTRAP_RESAMPLES,
    LOSS,
    MIN_RESAMPLES,
    TIE,
    WIN,
    Battle,
    Rating,
    battle_outcome,
    bootstrap_battles,
    bootstrap_ratings,
    item_score,
    label_draw,
)
from lineup.measure.contention import (
    CONTENTION_BADGE,
    contention_differs,
    contention_note,
    in_flight_words,
)
from lineup.measure.figures import (
    FAILURE_KEYS,
    RATED,
    RELEVANCE_SCORE,
    TIMED,
    clean_number,
    failure_counts,
    item_shares,
    label_figures,
    median_of_middle,
    median_or_none,
    relevance_order,
    relevance_score,
)
from lineup.measure.item_bootstrap import (
    ITEM_RESAMPLES,
    MIN_ITEMS,
    ItemBootstrap,
    ItemInterval,
    Observation,
    PairedDifference,
    bootstrap_by_item,
    interval_fields,
)
from lineup.measure.language import guess_language, language_warning
from lineup.measure.live import (
    DEFAULT_WINDOW_S,
    LiveFigures,
    LiveUnit,
    live_figures,
    live_line,
    stall_line,
)
from lineup.measure.overlap import (
    MeanInterval,
    OverlapScores,
    answer_similarity,
    bootstrap_mean_ci,
    overlap_scores,
    remembered_overlap,
    repeat_stability,
    summarize_overlap,
)
from lineup.measure.pairs import (
    LOWER_IS_BETTER,
    NO_DIFFERENCE,
    Pair,
    figure_pairs,
    pairs_of,
    ranks_from_pairs,
)
from lineup.measure.stopping import (
    POWER,
    StopLabeling,
    UndecidedPair,
    items_to_decide,
    p_best,
    stop_labeling,
)
from lineup.measure.text_checks import check_answer, summarize_text_checks
from lineup.measure.timing import StreamClock, VLMTimings, vlm_timings
from lineup.measure.voices import (
    CLIP_COLUMNS,
    ScoredClips,
    summarize_clips,
    voice_figures,
    wer_figures,
)
from lineup.measure.wer import primary_language, score, word_alignment

# The definitions a report quotes, by heading.
DEFINITIONS = {
    "Ranking": _bradley_terry.__doc__ or "",
    "Pairs": _pairs.__doc__ or "",
    "Overlap": _overlap.__doc__ or "",
    "WER and CER": _wer.__doc__ or "",
    "When to stop labeling": _stopping.__doc__ or "",
}

__all__ = [
    "DEFAULT_WINDOW_S",
    "LiveFigures",
    "LiveUnit",
    "live_figures",
    "live_line",
    "stall_line",
    "CONTENTION_BADGE",
    "contention_differs",
    "contention_note",
    "in_flight_words",
    "OverlapScores",
    "BOOTSTRAP_RESAMPLES",
    "Battle",
    "CLIP_COLUMNS",
    "DEFINITIONS",
    "FAILURE_KEYS",
    "ITEM_RESAMPLES",
    "ItemBootstrap",
    "ItemInterval",
    "MIN_ITEMS",
    "MIN_RESAMPLES",
    "LOWER_IS_BETTER",
    "NO_DIFFERENCE",
    "Pair",
    "figure_pairs",
    "pairs_of",
    "ranks_from_pairs",
    "PairedDifference",
    "POWER",
    "StopLabeling",
    "UndecidedPair",
    "LOSS",
    "MeanInterval",
    "RATED",
    "RELEVANCE_SCORE",
    "Rating",
    "ScoredClips",
    "StreamClock",
    "TIE",
    "TIMED",
    "VLMTimings",
    "WIN",
    "answer_similarity",
    "battle_outcome",
    "bootstrap_battles",
    "bootstrap_mean_ci",
    "bootstrap_ratings",
    "check_answer",
    "clean_number",
    "failure_counts",
    "guess_language",
    "bootstrap_by_item",
    "Observation",
    "interval_fields",
    "item_score",
    "items_to_decide",
    "p_best",
    "stop_labeling",
    "item_shares",
    "label_draw",
    "label_figures",
    "language_warning",
    "median_of_middle",
    "median_or_none",
    "overlap_scores",
    "remembered_overlap",
    "relevance_order",
    "relevance_score",
    "repeat_stability",
    "primary_language",
    "score",
    "summarize_clips",
    "summarize_overlap",
    "summarize_text_checks",
    "vlm_timings",
    "voice_figures",
    "wer_figures",
    "word_alignment",
]

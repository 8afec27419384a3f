"""Aggregates for the leaderboard: one definition of each figure, computed here only.

Only complete answers (status `ok`) are counted: a label or a timing of a row in any other
state never reaches a figure. Failures are counted per state.

The database counts (lineup.store, "Frames for the metrics"): each figure reads an index of
exactly the rows it counts, so a leaderboard reads a handful of numbers per model instead of
every generation. This module says which rows each figure counts and turns the counts into
figures; the per-comparison summaries (lineup.measure.voices.summarize_clips) use the same
functions on the rows they hold. A filtered leaderboard (lineup.leaderboard.filters) makes the
same figures from the same counts over the rows its filter keeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lineup.core import CANCELLED, ERROR, INTERRUPTED, OK, RUNNING, TIMEOUT

CONFIDENCE = 0.95
WILSON = "wilson"  # the method the leaderboards' interval of % relevant names

# The row key that counts each final state other than `ok`.
FAILURE_KEYS = {
    ERROR: "errors",
    TIMEOUT: "timeouts",
    CANCELLED: "cancelled",
    INTERRUPTED: "interrupted",
}

# Median TTFT and median total are over the same rows, the `ok` answers that have both: over
# different subsets the two medians can cross (an answer with a total but no TTFT would pull
# only the total down); over the same rows each TTFT <= its total, so the median TTFT <= the
# median total. Decode speed is over the ok answers that have a rate (a one-chunk answer has
# none).
TIMED = ("ttft_s", "total_s")
RATED = ("tokens_per_s",)

# Warm or cold: every speed median (TTFT, total, decode tokens/s; a voice's RTF and generation
# time) counts the answers not known to be cold (`cold` False or None:
# lineup.measure.timing.cold_start), so one that included a model load never pulls a warm
# figure up; the cold ones are shown apart, their number and the median of each figure over
# them (cold_figures).
COLD_FIGURES = {
    "vlm": ("ttft_s", "total_s", "tokens_per_s"),
    "tts": ("rtf", "gen_s"),
}


# The score of each relevance. An item's score for a model (the study's per-item grid, the
# Bradley-Terry battles) is the mean over its answers there of each answer's mean score over
# its counted labels (item_shares, then relevance_score): each answer weighs the same however
# many labels it has, so the number of labels per cell does not move the item score's expected
# value.
RELEVANCE_SCORE = {"relevant": 1.0, "partial": 0.5, "irrelevant": 0.0}


def relevance_score(relevance_counts: Mapping[str, float]) -> float | None:
    """The mean RELEVANCE_SCORE of labels, from their number (or share, item_shares) of each
    relevance; None for none."""
    n = sum(relevance_counts.values())
    if not n:
        return None
    return sum(RELEVANCE_SCORE[r] * k for r, k in relevance_counts.items()) / n


def item_shares(answers: Iterable[Mapping[str, int]]) -> dict[str, float]:
    """A model's labels on an item as shares that weigh each answer the same: per relevance,
    the mean over the answers with a counted label of the share of the answer's labels with
    that relevance (the shares sum to 1; empty for no label). `answers` gives, per answer,
    its number of counted labels of each relevance. relevance_score of the shares is the
    item score: the mean over the answers of each answer's mean label."""
    shares: dict[str, float] = {}
    labeled = 0
    for counts in answers:
        n = sum(counts.values())
        if not n:
            continue
        labeled += 1
        for relevance, k in counts.items():
            if k:
                shares[relevance] = shares.get(relevance, 0.0) + k / n
    return {relevance: share / labeled for relevance, share in shares.items()}


def failure_counts(status_counts: Mapping[str, int]) -> dict[str, int]:
    """`failed` (every final state but `ok`) and the count of each such state, from the
    number of generations in each state."""
    counts = {key: int(status_counts.get(state, 0)) for state, key in FAILURE_KEYS.items()}
    failed = sum(n for state, n in status_counts.items() if state not in (OK, RUNNING))
    return {"failed": int(failed), **counts}


def wilson_interval(successes: int, n: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval for a proportion, in percent (scipy's implementation)."""
    if n == 0:
        return None, None
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return 100 * interval.low, 100 * interval.high


def median_of_middle(middle: Sequence[float]) -> float | None:
    """The median from the middle value (odd count) or the two middle values (even count)."""
    return sum(middle) / len(middle) if middle else None


def median_or_none(values: Iterable[float | None]) -> float | None:
    """The median of the values present (None and NaN are absent); None when there are none."""
    present = sorted(float(v) for v in values if v is not None and not math.isnan(v))
    n = len(present)
    return median_of_middle(present[(n - 1) // 2 : n // 2 + 1])


def cold_figures(kind: str, rows: Iterable[Sequence[float | None]]) -> dict[str, Any]:
    """The cold `ok` answers of a model, apart: `cold_answers` (how many) and
    `cold_median_<figure>` for each figure of COLD_FIGURES[kind], the median over those that
    have it (None over none). `rows`: each cold answer's values of those figures, in order."""
    figures = COLD_FIGURES[kind]
    rows = list(rows)
    return {
        "cold_answers": len(rows),
        **{
            f"cold_median_{figure}": median_or_none(row[i] for row in rows)
            for i, figure in enumerate(figures)
        },
    }


def label_figures(relevance_counts: Mapping[str, int]) -> dict[str, Any]:
    """labels, relevant, partial, irrelevant, % relevant and its interval, from the number of
    counted labels (each annotator's latest on each `ok` answer) of each relevance."""
    n = int(sum(relevance_counts.values()))
    relevant = int(relevance_counts.get("relevant", 0))
    low, high = wilson_interval(relevant, n)
    return {
        "labels": n,
        "relevant": relevant,
        "partial": int(relevance_counts.get("partial", 0)),
        "irrelevant": int(relevance_counts.get("irrelevant", 0)),
        "pct_relevant": 100 * relevant / n if n else None,
        "pct_relevant_ci_low": low,
        "pct_relevant_ci_high": high,
        # Labels of single comparisons are independent draws: Wilson (a study's tables replace
        # it with the item bootstrap, lineup.report.tables).
        "pct_relevant_ci_method": WILSON,
    }


def relevance_order(figures: Mapping[str, Any]) -> tuple[bool, float, float]:
    """The sort key that ranks by % relevant, best first: the lower end of its 95% interval
    (Wilson on the leaderboards; the item bootstrap in a study's relevance table), then the
    share itself; rows without an interval after those with one, rows without a label last.

    The lower end, not the share: one label at 100% (interval 21-100%) says less than 47 of 56
    (84%, interval 72-91%), and the lower end is what the rate is at least, given the labels.
    The VLM leaderboard and the study's relevance table sort with this key, nowhere else (the
    voices' leaderboard ranks by WER)."""
    low, pct = figures["pct_relevant_ci_low"], figures["pct_relevant"]
    return (low is None, -(low or 0.0), -(pct or 0.0))


def clean_number(value: Any) -> Any:
    """JSON-friendly: NaN and numpy scalars to plain Python."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

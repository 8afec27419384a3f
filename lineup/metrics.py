"""Aggregates for the leaderboard: one definition of each figure, computed here only.

Only complete answers (status `ok`) are counted: a label or a timing of a row in any other
state never reaches a figure, whatever the store hands over. Failures are counted per state.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lineup.models import CANCELLED, ERROR, INTERRUPTED, OK, RUNNING, TIMEOUT
from lineup.store import Store

CONFIDENCE = 0.95

# The row key that counts each final state other than `ok`.
FAILURE_KEYS = {
    ERROR: "errors",
    TIMEOUT: "timeouts",
    CANCELLED: "cancelled",
    INTERRUPTED: "interrupted",
}


def latest_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One label per (generation, annotator): the latest one given."""
    if labels.empty:
        return labels
    ordered = labels.sort_values(["created_at", "id"])
    return ordered.drop_duplicates(["generation_id", "annotator"], keep="last")


def counted_labels(labels: pd.DataFrame, generations: pd.DataFrame) -> pd.DataFrame:
    """The labels that count: each annotator's latest on each `ok` generation of `generations`."""
    ok_ids = generations.loc[generations["status"] == OK, "id"]
    return latest_labels(labels[labels["generation_id"].isin(ok_ids)])


def failure_counts(statuses: pd.Series) -> dict[str, int]:
    """`failed` (every final state but `ok`) and the count of each such state."""
    counts = {key: int((statuses == state).sum()) for state, key in FAILURE_KEYS.items()}
    failed = int((~statuses.isin([OK, RUNNING])).sum())
    return {"failed": failed, **counts}


def wilson_interval(successes: int, n: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval for a proportion, in percent (scipy's implementation)."""
    if n == 0:
        return None, None
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return 100 * interval.low, 100 * interval.high


def median_or_none(values: pd.Series) -> float | None:
    """The median of the values present; None when there are none."""
    values = values.dropna()
    return float(values.median()) if len(values) else None


def label_counts(labels: pd.DataFrame, model: str) -> dict[str, Any]:
    """n, relevant, partial, irrelevant, % relevant and its interval for one model.

    `labels` are the counted ones (`counted_labels`)."""
    mine = labels[labels["model_spec"] == model] if not labels.empty else labels
    counts = mine["relevance"].value_counts() if not mine.empty else pd.Series(dtype=int)
    n = int(len(mine))
    relevant = int(counts.get("relevant", 0))
    low, high = wilson_interval(relevant, n)
    return {
        "n": n,
        "relevant": relevant,
        "partial": int(counts.get("partial", 0)),
        "irrelevant": int(counts.get("irrelevant", 0)),
        "pct_relevant": 100 * relevant / n if n else None,
        "pct_relevant_ci_low": low,
        "pct_relevant_ci_high": high,
    }


def timing_medians(answers: pd.DataFrame) -> dict[str, float | None]:
    """Median TTFT and median total over the same answers: `ok` ones that have both.

    Over different subsets the two medians can cross (an answer with a total but no TTFT
    would pull only the total down); over the same rows, each TTFT <= its total, so the
    median TTFT <= the median total. Decode speed is over the ok answers that have a rate
    (a one-chunk answer has none)."""
    ok = answers[answers["status"] == OK]
    timed = ok[ok["ttft_s"].notna() & ok["total_s"].notna()]
    return {
        "timed": int(len(timed)),
        "median_ttft_s": median_or_none(timed["ttft_s"]),
        "median_total_s": median_or_none(timed["total_s"]),
        "median_tokens_per_s": median_or_none(ok["tokens_per_s"]),
    }


def vlm_leaderboard(store: Store) -> list[dict[str, Any]]:
    """Per model: labels (latest per annotator) and the medians of its `ok` answers."""
    generations = store.generations_frame("vlm")
    labels = counted_labels(store.labels_frame("vlm"), generations)
    rows = []
    for model in sorted(generations["model_spec"].unique()) if not generations.empty else []:
        mine = generations[generations["model_spec"] == model]
        rows.append(
            {
                "model": model,
                **label_counts(labels, model),
                "generations": int(len(mine)),
                "ok": int((mine["status"] == OK).sum()),
                **failure_counts(mine["status"]),
                **timing_medians(mine),
            }
        )
    rows.sort(
        key=lambda r: (-(r["pct_relevant"] if r["pct_relevant"] is not None else -1), r["model"])
    )
    return rows


def clean_number(value: Any) -> Any:
    """JSON-friendly: NaN and numpy scalars to plain Python."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

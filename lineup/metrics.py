"""Aggregates for the leaderboard: one definition of each figure, computed here only."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lineup.store import Store

CONFIDENCE = 0.95


def latest_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One label per (generation, annotator): the latest one given."""
    if labels.empty:
        return labels
    ordered = labels.sort_values(["created_at", "id"])
    return ordered.drop_duplicates(["generation_id", "annotator"], keep="last")


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
    """n, relevant, partial, irrelevant, % relevant and its interval for one model."""
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


def vlm_leaderboard(store: Store) -> list[dict[str, Any]]:
    """Per model: labels (latest per annotator) and the medians of its successful answers."""
    generations = store.generations_frame("vlm")
    labels = latest_labels(store.labels_frame("vlm"))
    rows = []
    for model in sorted(generations["model_spec"].unique()) if not generations.empty else []:
        mine = generations[generations["model_spec"] == model]
        ok = mine[mine["status"] == "ok"]
        rows.append(
            {
                "model": model,
                **label_counts(labels, model),
                "generations": int(len(mine)),
                "errors": int((mine["status"] == "error").sum()),
                "median_ttft_s": median_or_none(ok["ttft_s"]),
                "median_total_s": median_or_none(ok["total_s"]),
                "median_tokens_per_s": median_or_none(ok["tokens_per_s"]),
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

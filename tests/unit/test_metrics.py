"""Leaderboard figures against independent computations."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from sqlalchemy import select

from lineup.metrics import vlm_leaderboard, wilson_interval
from lineup.models import Generation, Label
from lineup.store import Store


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half), 100 * (centre + half)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (7, 10), (3, 40), (50, 50)])
def test_wilson_interval_matches_the_formula(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    expected_low, expected_high = wilson_by_hand(k, n)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)
    assert wilson_interval(0, 0) == (None, None)


def test_leaderboard_counts_latest_label_per_annotator_and_medians_of_ok_answers(
    store: Store,
) -> None:
    ttfts = {"m:a": [0.2, 0.4, 0.9], "m:b": [1.0, 3.0]}
    ids: dict[str, list[int]] = {}
    for model, values in ttfts.items():
        for ttft in values:
            run = store.create_run("vlm", "q")
            gid = store.add_generation(run, model)
            store.finish_generation(
                gid,
                "ok",
                output_text="x",
                ttft_s=ttft,
                total_s=ttft + 1,
                tokens_per_s=10 / ttft,
                tokens_per_s_source="client",
            )
            ids.setdefault(model, []).append(gid)
    failed = store.add_generation(store.create_run("vlm", "q"), "m:a")
    store.finish_generation(failed, "error", error="down", total_s=99.0)
    a1, a2, a3 = ids["m:a"]
    store.add_label(a1, "irrelevant", annotator="ana")
    store.add_label(a1, "relevant", annotator="ana")  # supersedes
    store.add_label(a1, "partial", annotator="bob")
    store.add_label(a2, "relevant", annotator="ana")
    store.add_label(a3, "irrelevant", annotator="ana")

    rows = {r["model"]: r for r in vlm_leaderboard(store)}
    a, b = rows["m:a"], rows["m:b"]
    assert (a["n"], a["relevant"], a["partial"], a["irrelevant"]) == (4, 2, 1, 1)
    assert a["pct_relevant"] == pytest.approx(50.0)
    assert (a["pct_relevant_ci_low"], a["pct_relevant_ci_high"]) == pytest.approx(
        wilson_by_hand(2, 4)
    )
    assert a["median_ttft_s"] == pytest.approx(statistics.median(ttfts["m:a"]))
    assert a["median_total_s"] == pytest.approx(statistics.median(t + 1 for t in ttfts["m:a"]))
    assert a["median_tokens_per_s"] == pytest.approx(
        statistics.median(10 / t for t in ttfts["m:a"])
    )
    assert (a["generations"], a["ok"], a["failed"], a["errors"]) == (4, 3, 1, 1)
    assert b["n"] == 0 and b["pct_relevant"] is None
    assert b["median_ttft_s"] == pytest.approx(2.0)
    assert [r["model"] for r in vlm_leaderboard(store)] == ["m:a", "m:b"]


def labels_of_every_state(store: Store) -> pd.DataFrame:
    """The labels as a store that does not filter by state would hand them over."""
    query = select(
        Label.id,
        Label.generation_id,
        Label.annotator,
        Label.relevance,
        Label.comment,
        Label.created_at,
        Generation.model_spec,
    ).join(Generation, Label.generation_id == Generation.id)
    with store.session() as session:
        return pd.DataFrame([row._asdict() for row in session.execute(query)])


def test_a_failed_answer_labeled_relevant_does_not_make_its_model_relevant(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = "openai:qwen@http://127.0.0.1:8000/v1"
    failed = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(failed, "error", error="HTTP 500 Internal Server Error", total_s=0.1)
    # The store refuses such a label today; a row labeled by an older build is written as it was.
    with store.session() as session:
        session.add(Label(generation_id=failed, annotator="ana", relevance="relevant"))
    answered = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(answered, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
    store.add_label(answered, "irrelevant", annotator="ana")
    # The figures filter by state themselves, whatever the store hands over.
    monkeypatch.setattr(store, "labels_frame", lambda kind: labels_of_every_state(store))
    assert len(store.labels_frame("vlm")) == 2

    [row] = vlm_leaderboard(store)
    assert (row["n"], row["relevant"], row["irrelevant"]) == (1, 0, 1)
    assert row["pct_relevant"] == 0.0
    assert (row["failed"], row["errors"]) == (1, 1)


def test_failures_are_counted_per_state_and_their_timings_never_count(store: Store) -> None:
    model = "ollama:llava:7b"
    for status in ["ok", "error", "error", "timeout", "cancelled", "interrupted"]:
        gid = store.add_generation(store.create_run("vlm", "q"), model)
        figures = (
            {"ttft_s": 1.0, "total_s": 2.0} if status == "ok" else {"ttft_s": 9, "total_s": 99}
        )
        store.finish_generation(gid, status, output_text="x", tokens_per_s=5.0, **figures)
    store.add_generation(store.create_run("vlm", "q"), model)  # still running

    [row] = vlm_leaderboard(store)
    assert row["generations"] == 7
    assert row["ok"] == 1
    assert row["failed"] == 5
    assert (row["errors"], row["timeouts"], row["cancelled"], row["interrupted"]) == (2, 1, 1, 1)
    assert (row["median_ttft_s"], row["median_total_s"]) == (1.0, 2.0)


def test_median_ttft_never_exceeds_median_total(store: Store) -> None:
    # OCR: each answer arrives as one chunk, so TTFT = total. Some ok rows have a total but no
    # TTFT (an empty answer stored by an older build), and failed rows have a short total only:
    # medians over different rows gave a median TTFT of 1.2 s over a median total of 0.55 s.
    model = "ocr:eng+rus"
    rows = [
        ("ok", 1.0, 1.0),
        ("ok", 1.2, 1.2),
        ("ok", 2.0, 2.0),
        ("ok", None, 0.1),
        ("ok", None, 0.1),
        ("ok", None, 0.1),
        ("error", None, 0.05),
    ]
    for status, ttft, total in rows:
        gid = store.add_generation(store.create_run("vlm", "q"), model)
        store.finish_generation(gid, status, output_text="x", ttft_s=ttft, total_s=total)

    [row] = vlm_leaderboard(store)
    both = [(ttft, total) for status, ttft, total in rows if status == "ok" and ttft is not None]
    assert row["median_ttft_s"] == pytest.approx(statistics.median(t for t, _ in both))
    assert row["median_total_s"] == pytest.approx(statistics.median(t for _, t in both))
    assert row["median_ttft_s"] <= row["median_total_s"]
    assert row["timed"] == 3

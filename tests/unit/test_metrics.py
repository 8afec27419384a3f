"""Leaderboard figures against independent computations."""

from __future__ import annotations

import math
import statistics

import pytest

from lineup.metrics import vlm_leaderboard, wilson_interval
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
    assert (a["generations"], a["errors"]) == (4, 1)
    assert b["n"] == 0 and b["pct_relevant"] is None
    assert b["median_ttft_s"] == pytest.approx(2.0)
    assert [r["model"] for r in vlm_leaderboard(store)] == ["m:a", "m:b"]

"""Leaderboard figures against independent computations: plain Python over the rows inserted."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineup.leaderboard.boards import vlm_leaderboard
from lineup.measure.figures import median_or_none, wilson_interval
from lineup.store.database import Store
from lineup.store.tables import Label
from tests.builders import Inserted, fill_leaderboard_store
from tests.expected import assert_same_rows, expected_vlm, wilson_by_hand


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (7, 10), (3, 40), (50, 50)])
def test_wilson_interval_matches_the_formula(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    expected_low, expected_high = wilson_by_hand(k, n)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)
    assert wilson_interval(0, 0) == (None, None)


@pytest.mark.parametrize(
    "values",
    [[3.0], [1.0, 9.0], [5.0, None, 1.0, 3.0], [None, float("nan")], [], [2.0, 2.0, 1.0, 7.0]],
)
def test_median_or_none_matches_the_statistics_module(values: list[float | None]) -> None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    assert median_or_none(values) == (statistics.median(present) if present else None)


# A store filled at random, and every figure computed again in plain Python --------------------


@pytest.fixture
def filled(store: Store) -> Inserted:
    return fill_leaderboard_store(store)


def test_every_vlm_figure_matches_plain_python_over_the_inserted_rows(
    store: Store, filled: Inserted
) -> None:
    expected = expected_vlm(filled)
    assert_same_rows(vlm_leaderboard(store), expected)
    # The data covers what the figures must get right.
    by_model = {row["model"]: row for row in expected}
    assert (
        by_model["m:no-labels"]["labels"] == 0 and by_model["m:no-labels"]["pct_relevant"] is None
    )
    assert by_model["m:c-one-answer"]["timed"] in (0, 1)
    assert {row["timed"] % 2 for row in expected if row["timed"] > 1} == {0, 1}
    assert any(row["failed"] for row in expected)


def test_a_spec_stored_under_both_kinds_is_counted_in_each_kind_apart(
    store: Store, filled: Inserted
) -> None:
    [row] = [r for r in vlm_leaderboard(store) if r["model"] == "both:spec"]
    vlm_rows = [g for g in filled.generations if g["spec"] == "both:spec" and g["kind"] == "vlm"]
    assert row["generations"] == len(vlm_rows)


def test_latest_label_is_by_created_at_then_by_id(store: Store) -> None:
    gid = store.add_generation(store.create_run("vlm", "q"), "m:a")
    store.finish_generation(gid, "ok", output_text="x", ttft_s=0.1, total_s=0.2)
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with store.session() as session:
        # ana: the later label wins even though it was written first (smaller id).
        session.add(
            Label(
                generation_id=gid,
                annotator="ana",
                relevance="relevant",
                created_at=moment + timedelta(seconds=1),
            )
        )
        session.add(
            Label(generation_id=gid, annotator="ana", relevance="irrelevant", created_at=moment)
        )
        # bob: two labels in the same microsecond: the greater id wins.
        session.add(
            Label(generation_id=gid, annotator="bob", relevance="irrelevant", created_at=moment)
        )
        session.add(
            Label(generation_id=gid, annotator="bob", relevance="partial", created_at=moment)
        )
    [row] = vlm_leaderboard(store)
    assert (row["labels"], row["relevant"], row["partial"], row["irrelevant"]) == (2, 1, 1, 0)


def test_an_empty_store_has_empty_leaderboards(store: Store) -> None:
    from lineup.leaderboard.boards import tts_leaderboard

    assert vlm_leaderboard(store) == []
    assert tts_leaderboard(store) == []
    store.add_generation(store.create_run("vlm", "q"), "m:running")
    [row] = vlm_leaderboard(store)
    assert (row["generations"], row["answers"], row["failed"], row["timed"]) == (1, 0, 0, 0)
    assert row["median_ttft_s"] is None and row["pct_relevant"] is None


def test_a_failed_answer_labeled_relevant_does_not_make_its_model_relevant(store: Store) -> None:
    model = "openai:qwen@http://127.0.0.1:8000/v1"
    failed = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(failed, "error", error="HTTP 500 Internal Server Error", total_s=0.1)
    # The store refuses such a label today; a row labeled by an older build is written as it was.
    with store.session() as session:
        session.add(Label(generation_id=failed, annotator="ana", relevance="relevant"))
    answered = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(answered, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
    store.add_label(answered, "irrelevant", annotator="ana")

    [row] = vlm_leaderboard(store)
    assert (row["labels"], row["relevant"], row["irrelevant"]) == (1, 0, 1)
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
    assert row["answers"] == 1
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


def test_raw_export_streams_the_rows_of_one_kind_as_csv(store: Store, filled: Inserted) -> None:
    import csv
    import io

    from components.exports import write_csv
    from lineup.store import GENERATION_EXPORT_COLUMNS, LABEL_EXPORT_COLUMNS

    vlm = [g for g in filled.generations if g["kind"] == "vlm"]
    assert store.export_count("vlm", "generations") == len(vlm)
    rows = list(store.export_rows("vlm", "generations"))
    assert [row[0] for row in rows] == sorted(g["id"] for g in vlm)
    assert "heartbeat_at" not in GENERATION_EXPORT_COLUMNS
    by_id = {g["id"]: g for g in vlm}
    spec_at = GENERATION_EXPORT_COLUMNS.index("model_spec")
    ttft_at = GENERATION_EXPORT_COLUMNS.index("ttft_s")
    assert all(row[spec_at] == by_id[row[0]]["spec"] for row in rows)
    assert all(row[ttft_at] == by_id[row[0]].get("ttft_s") for row in rows)

    labels = list(store.export_rows("tts", "labels"))
    tts_ok = {g["id"] for g in filled.generations if g["kind"] == "tts" and g["status"] == "ok"}
    expected = sorted(lab["id"] for lab in filled.labels if lab["generation_id"] in tts_ok)
    assert [row[0] for row in labels] == expected == sorted(row[0] for row in labels)

    text = write_csv(LABEL_EXPORT_COLUMNS, labels).read().decode()
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(LABEL_EXPORT_COLUMNS)
    assert [int(row[0]) for row in parsed[1:]] == expected


def test_on_sqlite_every_leaderboard_query_reads_an_index_alone(
    store: Store, filled: Inserted
) -> None:
    """No query of either leaderboard scans a table or reads a row beside its index: the
    plans SQLite chooses without statistics (the app never runs ANALYZE)."""
    from sqlalchemy import event

    from lineup.leaderboard.boards import tts_leaderboard

    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        vlm_leaderboard(store)
        tts_leaderboard(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) > 10
    with store.engine.connect() as connection:
        for statement, params in statements:
            plan = [
                row[-1]
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            steps = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
            assert steps, (statement, plan)
            for step in steps:
                # Read with their rows: the labels that count (their flag is the index's
                # predicate), the normally empty index of WERs without a transcript, and the
                # scored clips when the test data holds such a WER (the fallback reads each
                # row's transcript).
                assert (
                    "COVERING INDEX" in step
                    or "ix_labels_counted" in step
                    or "without_transcript" in step
                    or "transcript IS NOT NULL" in statement
                ), (statement, plan)

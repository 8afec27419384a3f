"""The store on a real PostgreSQL server on 127.0.0.1 (started once a session: conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lineup.leaderboard.boards import tts_leaderboard, vlm_leaderboard
from lineup.store import StoreError
from lineup.store.database import Store
from testbed.processes import open_store_at_once
from tests.builders import (
    fill_at_0003,
    fill_at_0010,
    fill_at_0011,
    fill_leaderboard_store,
    fresh_database,
)
from tests.expected import (
    assert_same_rows,
    check_after_0004,
    check_after_0011,
    check_after_0012,
    expected_tts,
    expected_vlm,
)

pytestmark = pytest.mark.integration


def test_store_migrates_and_round_trips_on_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    run_id = store.create_run("vlm", "Что написано на экране?", params={"temperature": 0.0})
    gid = store.add_generation(run_id, "ocr:eng+rus")
    store.finish_generation(
        gid,
        "ok",
        output_text="Оплата не прошла",
        ttft_s=0.3,
        total_s=0.3,
        backend_metadata={"tesseract_version": "5.3.0"},
    )
    store.add_label(gid, "partial", annotator="ана", comment="без кода ошибки")
    store.add_label(gid, "relevant", annotator="ана")

    again = Store(postgres_url)  # a second process would see the same; migrations are idempotent
    run = again.get_run(run_id)
    assert run.input_text == "Что написано на экране?"
    assert run.generations[0].output_text == "Оплата не прошла"
    assert run.generations[0].backend_metadata == {"tesseract_version": "5.3.0"}
    assert again.current_labels([gid], "ана")[gid].relevance == "relevant"
    [row] = vlm_leaderboard(again)
    assert (row["labels"], row["pct_relevant"]) == (1, 100.0)


def test_migration_0004_fills_old_rows_on_postgresql(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "lineup_0004")
    fill_at_0003(url)
    Store(url)
    check_after_0004(url)


def test_migration_0011_fills_old_rows_on_postgresql(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "lineup_0011")
    fill_at_0010(url)
    Store(url)
    check_after_0011(url)


def test_migration_0012_scores_old_clips_again_on_postgresql(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "lineup_0012")
    fill_at_0011(url)
    Store(url)
    check_after_0012(url)


def test_eight_processes_open_one_new_postgresql_store_at_once(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "lineup_race")
    outcomes = open_store_at_once(url)
    assert [code for code, _ in outcomes] == [0] * 8, [err for _, err in outcomes if err]
    with create_engine(url).connect() as connection:
        assert connection.execute(text("select count(*) from runs")).scalar() == 8


def test_postgresql_refuses_nothing_sqlite_accepts(postgres_url: str) -> None:
    store = Store(postgres_url)
    run_id = store.create_run("vlm", "q")
    with pytest.raises(StoreError, match="limit is 512"):
        store.add_generation(run_id, "openai:" + "m" * 600)
    gid = store.add_generation(run_id, "fake:m")
    # PostgreSQL refuses NUL in text and the UTF-8 encoder refuses a lone surrogate.
    assert store.finish_generation(
        gid, "ok", output_text="a\x00b\ud800c", backend_metadata={"raw": "x\x00\udfff"}
    )
    row = store.get_generation(gid)
    assert row.output_text == "a\ufffdb\ufffdc"
    assert row.backend_metadata == {"raw": "x\ufffd\ufffd"}
    with pytest.raises(StoreError, match="limit is 128"):
        store.add_label(gid, "relevant", annotator="a" * 200)


def test_leaderboards_are_the_same_on_postgresql_as_on_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    # The same rows, labels (ties in created_at, relabels, labels on failed rows) and a spec
    # stored under both kinds, in each database: every figure equal, and equal to plain Python.
    postgres = Store(fresh_database(postgres_url, "lineup_leaderboards"))
    sqlite = Store(f"sqlite:///{tmp_path / 'lineup.db'}")
    inserted = fill_leaderboard_store(postgres, seed=5)
    assert fill_leaderboard_store(sqlite, seed=5) == inserted  # the same ids too
    for board, expected in ((vlm_leaderboard, expected_vlm), (tts_leaderboard, expected_tts)):
        on_postgres, on_sqlite = board(postgres), board(sqlite)
        assert_same_rows(on_postgres, on_sqlite)
        assert_same_rows(on_postgres, expected(inserted))


def test_leaderboards_of_labeled_scored_rows_are_the_same_on_both(
    postgres_url: str, tmp_path: Path
) -> None:
    postgres = Store(fresh_database(postgres_url, "lineup_by_spec"))
    sqlite = Store(f"sqlite:///{tmp_path / 'lineup.db'}")
    for store in (postgres, sqlite):
        for kind, specs in (("vlm", ["m:a", "m:b"]), ("tts", ["v:a"])):
            for i in range(7):
                run_id = store.create_run(kind, "Turn left at the second light.")
                for spec in specs:
                    gid = store.add_generation(run_id, spec)
                    store.finish_generation(
                        gid,
                        "ok" if i % 3 else "error",
                        output_text="x",
                        ttft_s=0.1 * i,
                        total_s=0.3 * i,
                        tokens_per_s=10.0 + i if i != 4 else None,
                        transcript="turn left at the light",
                        wer=1 / 6,
                        word_errors=1,
                        reference_words=6,
                        rtf=0.01 * i,
                        gen_s=0.5,
                    )
                    if i % 3:
                        store.add_label(gid, "relevant" if i % 2 else "partial", annotator="ana")
    assert_same_rows(vlm_leaderboard(postgres), vlm_leaderboard(sqlite))
    assert_same_rows(tts_leaderboard(postgres), tts_leaderboard(sqlite))
    assert [r["labels"] for r in vlm_leaderboard(postgres)] == [4, 4]

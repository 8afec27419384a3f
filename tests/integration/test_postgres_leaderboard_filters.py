"""Filtered leaderboards on a real PostgreSQL server: the same rows as plain Python, as on
SQLite (tests/unit/test_leaderboard_filters.py)."""

from __future__ import annotations

import pytest

from lineup.leaderboard.boards import tts_leaderboard, vlm_leaderboard
from lineup.leaderboard.choices import filter_choices
from lineup.store.database import Store
from tests.builders import FILTERS, fill_filtered_store, fresh_database, study_ids
from tests.expected import assert_same_rows, expected_tts, expected_vlm, kept

pytestmark = pytest.mark.integration


def test_every_filter_gives_the_same_rows_on_postgresql(postgres_url: str) -> None:
    store = Store(fresh_database(postgres_url, "lineup_leaderboard_filters"))
    filled = fill_filtered_store(store)
    studies = study_ids(store)
    for name, make in FILTERS.items():
        f = make(studies)
        rows = kept(filled, f)
        try:
            assert_same_rows(vlm_leaderboard(store, f), expected_vlm(rows))
            assert_same_rows(tts_leaderboard(store, f), expected_tts(rows))
        except AssertionError as exc:
            raise AssertionError(f"filter {name!r}: {exc}") from exc
    assert_same_rows(vlm_leaderboard(store), expected_vlm(filled))
    choices = filter_choices(store)
    assert choices.tags == ("Billing", "billing", "login", "long", "numbers", "ru")
    assert choices.annotators == ("ana", "bob", "cy")

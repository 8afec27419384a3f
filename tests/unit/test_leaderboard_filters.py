"""Filtered leaderboards against plain Python over the inserted rows: each filter keeps the
rows the definition says (lineup.leaderboard_filter), and every figure over them is the one
the unfiltered leaderboard would give over those rows alone (tests/expected.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core.limits import InputError
from lineup.core.settings import load_settings
from lineup.core.states import FINAL_STATUSES
from lineup.leaderboard.boards import tts_leaderboard, vlm_leaderboard
from lineup.leaderboard.filters import FAILED, LeaderboardFilter
from lineup.store.database import Store
from tests.builders import (
    ANNOTATORS,
    FILTERS,
    START,
    Inserted,
    fill_filtered_store,
    study_ids,
)
from tests.expected import assert_same_rows, expected_tts, expected_vlm, kept


def use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """LINEUP_HOME at `home`, as tests/conftest.py's lineup_home sets it."""
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens there


@pytest.fixture(scope="module")
def filled_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Inserted]:
    """One filled store for the module: the tests only read it."""
    home = tmp_path_factory.mktemp("filters") / "home"
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, home)
        return home, fill_filtered_store(Store(load_settings().database_url))


@pytest.fixture
def store(filled_home: tuple[Path, Inserted], monkeypatch: pytest.MonkeyPatch) -> Store:
    use_home(monkeypatch, filled_home[0])
    return Store(load_settings().database_url)


@pytest.fixture
def filled(filled_home: tuple[Path, Inserted], store: Store) -> Inserted:
    return filled_home[1]


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_gives_the_figures_of_the_rows_it_keeps(
    store: Store, filled: Inserted, name: str
) -> None:
    f = FILTERS[name](study_ids(store))
    rows = kept(filled, f)
    assert_same_rows(vlm_leaderboard(store, f), expected_vlm(rows))
    assert_same_rows(tts_leaderboard(store, f), expected_tts(rows))


def test_the_test_data_covers_what_the_filters_must_get_right(
    store: Store, filled: Inserted
) -> None:
    studies = study_ids(store)
    for name, make in FILTERS.items():
        f = make(studies)
        rows = kept(filled, f)
        narrower = 0 < len(rows.generations) < len(filled.generations)
        fewer_labels = 0 < len(rows.labels) < len(filled.labels)
        assert narrower or fewer_labels or name == "no study is of this set and kind", name
    # A tag on items of two sets, loose runs in no study, every state in every filter's reach.
    billing = {g["set"] for g in filled.generations if "billing" in g["tags"]}
    assert billing == {"screens", "forms"}
    assert any(g["study"] is None for g in filled.generations)
    assert {g["status"] for g in filled.generations} == {"running", *FINAL_STATUSES}
    # With a failed status the rows hold counts and no figure.
    rows = vlm_leaderboard(store, LeaderboardFilter(status=FAILED))
    assert rows and all(r["answers"] == 0 and r["labels"] == 0 and r["failed"] > 0 for r in rows)
    assert all(r["median_total_s"] is None for r in rows)
    # With the annotator alone, the counts stay and only the labels change.
    every, bobs = vlm_leaderboard(store), vlm_leaderboard(store, LeaderboardFilter(annotator="bob"))
    by_model = {r["model"]: r for r in every}
    for row in bobs:
        whole = by_model[row["model"]]
        assert (row["generations"], row["median_ttft_s"]) == (
            whole["generations"],
            whole["median_ttft_s"],
        )
        assert row["labels"] <= whole["labels"]
    assert sum(r["labels"] for r in bobs) < sum(r["labels"] for r in every)


@pytest.fixture
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    yield seen
    event.remove(store.engine, "before_cursor_execute", record)


def test_without_a_filter_the_leaderboard_runs_the_very_same_queries(
    store: Store, filled: Inserted, statements: list[tuple[str, Any]]
) -> None:
    for leaderboard, expected in ((vlm_leaderboard, expected_vlm), (tts_leaderboard, expected_tts)):
        statements.clear()
        plain = leaderboard(store)
        unfiltered = list(statements)
        statements.clear()
        assert leaderboard(store, LeaderboardFilter()) == plain
        assert statements == unfiltered
        assert_same_rows(plain, expected(filled))
    # And through the facade, whose empty filter is no filter.
    app = Lineup.open()
    statements.clear()
    assert app.leaderboard.rows("vlm", LeaderboardFilter()) == app.leaderboard.rows("vlm")
    half = len(statements) // 2
    assert statements[:half] == statements[half:]


def test_a_filter_is_checked_when_made() -> None:
    with pytest.raises(InputError, match="Status 'broken' is not one of: ok, failed"):
        LeaderboardFilter(status="broken")
    with pytest.raises(InputError, match="The date range is empty"):
        LeaderboardFilter(since=START, until=START)
    with pytest.raises(InputError, match=r"'2026-13-01' is not a date \(since\)"):
        LeaderboardFilter.from_query({"since": "2026-13-01"})
    with pytest.raises(InputError, match="is not a study id"):
        LeaderboardFilter.from_query({"study": "three"})
    # Names stripped, empty ones no filter; a naive moment is UTC; days round-trip as days.
    f = LeaderboardFilter(set_name="  screens ", tag="", annotator=" ana")
    assert (f.set_name, f.tag, f.annotator) == ("screens", None, "ana")
    assert LeaderboardFilter(since=datetime(2026, 11, 2)).since == datetime(2026, 11, 2, tzinfo=UTC)
    query = {"study": "3", "tag": "ru", "since": "2026-11-02", "until": "2026-11-05T12:00:00+00:00"}
    assert LeaderboardFilter.from_query(query).as_query() == query
    assert LeaderboardFilter().is_empty and not LeaderboardFilter(status="ok").narrows_rows


def test_the_facade_refuses_a_filter_naming_what_the_store_does_not_hold(
    store: Store, filled: Inserted
) -> None:
    app = Lineup.open()
    cases = {
        "There is no study 999": LeaderboardFilter(study_id=999),
        "There is no set named 'nope'": LeaderboardFilter(set_name="nope"),
        "No set item has the tag 'bill'. Tags: Billing, billing, login, long": LeaderboardFilter(
            tag="bill"
        ),
        "There is no label by 'zed'": LeaderboardFilter(annotator="zed"),
    }
    for message, f in cases.items():
        with pytest.raises(InputError, match=message):
            app.leaderboard.rows("vlm", f)


def test_the_filter_choices_are_what_the_store_holds(store: Store, filled: Inserted) -> None:
    choices = Lineup.open().leaderboard.choices()
    assert [s.id for s in choices.studies] == sorted(study_ids(store), reverse=True)
    assert [(s.set_name, s.kind) for s in choices.studies][-1] == ("screens", "vlm")
    assert [(s.name, s.kind) for s in choices.sets] == [
        ("forms", "vlm"),
        ("screens", "vlm"),
        ("sentences", "tts"),
    ]
    assert choices.tags == ("Billing", "billing", "login", "long", "numbers", "ru")
    assert choices.annotators == tuple(ANNOTATORS)
    assert choices.statuses[:2] == ("ok", FAILED)


# The command line ------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_leaderboard_filters_and_refuses_bad_values(
    store: Store, filled: Inserted, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "leaderboard", "--kind", "vlm", "--since", "2026-13-01")
    assert status == 2
    assert "argument --since: '2026-13-01' is not a date: write it as YYYY-MM-DD" in err
    assert out == ""
    status, _, err = run_cli(capsys, "leaderboard", "--status", "fine")
    assert status == 2 and "invalid choice: 'fine'" in err
    status, _, err = run_cli(capsys, "leaderboard", "--study", "999")
    assert (status, err.strip()) == (
        2,
        "error: There is no study 999. `python -m lineup study list` shows the studies.",
    )
    status, _, err = run_cli(
        capsys, "leaderboard", "--since", "2026-11-20", "--until", "2026-11-10"
    )
    assert status == 2 and "The date range is empty" in err

    first = study_ids(store)[0]
    status, out, _ = run_cli(
        capsys,
        "leaderboard",
        "--kind",
        "vlm",
        "--study",
        str(first),
        "--tag",
        "billing",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-28",
        "--annotator",
        "ana",
        "--status",
        "ok",
        "--json",
    )
    assert status == 0
    document = json.loads(out)
    f = LeaderboardFilter(
        study_id=first,
        tag="billing",
        since=datetime(2026, 11, 3, tzinfo=UTC),
        until=datetime(2026, 11, 28, tzinfo=UTC),
        annotator="ana",
        status="ok",
    )
    assert (
        document["filter"]
        == f.as_query()
        == {
            "study": str(first),
            "tag": "billing",
            "since": "2026-11-03",
            "until": "2026-11-28",
            "annotator": "ana",
            "status": "ok",
        }
    )
    expected = expected_vlm(kept(filled, f))
    assert [r["model"] for r in document["rows"]] == [r["model"] for r in expected]
    assert [(r["n"], r["relevant"], r["generations"]) for r in document["rows"]] == [
        (r["labels"], r["relevant"], r["generations"]) for r in expected
    ]

    status, out, err = run_cli(capsys, "leaderboard", "--kind", "tts", "--tag", "long")
    assert status == 0 and 'filtered: tag "long"' in err
    assert out.splitlines()[0].split()[:2] == ["voice", "answers"]

"""The Leaderboard page's filter bar, headless with Streamlit's AppTest: the filters come from
the address, picks go back into it, and the tables show the facade's filtered rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.leaderboard import LeaderboardFilter
from lineup.store.database import Store
from lineup.store.tables import Generation, QuestionSet, SetItemRow
from lineup.study.records import create_study, load_plan

PAGE = Path(__file__).resolve().parents[2] / "app_pages" / "leaderboard.py"
MODEL = "ollama:llava:7b"


def fill(store: Store) -> int:
    """A VLM set with a tagged item, a study of it and a run outside any study: answers of
    every kind, started on 3 and on 20 November, labeled by ana and bob. The study's id."""
    with store.session() as session:
        question_set = QuestionSet(name="screens", kind="vlm")
        session.add(question_set)
        session.flush()
        session.add_all(
            [
                SetItemRow(set_id=question_set.id, position=0, text="q0", tags=["billing"]),
                SetItemRow(set_id=question_set.id, position=1, text="q1", tags=[]),
            ]
        )
        set_id = question_set.id
    study_id = create_study(store, set_id=set_id, models=[MODEL], repeats=1, params={})
    billing_run, other_run = (item.run_id for item in load_plan(store, study_id).items)
    loose_run = store.create_run("vlm", "q")
    answers = [
        # (run, status, day, ttft, ana's label, bob's label)
        (billing_run, "ok", 3, 0.5, "relevant", "irrelevant"),
        (billing_run, "error", 3, None, None, None),
        (other_run, "ok", 20, 1.5, "irrelevant", "irrelevant"),
        (loose_run, "ok", 20, 2.5, "irrelevant", None),
        (loose_run, "timeout", 20, None, None, None),
    ]
    for run_id, status, day, ttft, ana, bob in answers:
        gid = store.add_generation(run_id, MODEL)
        figures: dict[str, Any] = {"ttft_s": ttft, "total_s": ttft + 1} if ttft else {}
        store.finish_generation(gid, status, output_text="x", **figures)
        with store.session() as session:
            session.execute(
                update(Generation)
                .where(Generation.id == gid)
                .values(started_at=datetime(2026, 11, day, 12, tzinfo=UTC))
            )
        for annotator, relevance in (("ana", ana), ("bob", bob)):
            if relevance:
                store.add_label(gid, relevance, annotator=annotator)
    return study_id


def page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def selectbox(at: AppTest, label: str) -> Any:
    [box] = [box for box in at.selectbox if box.label == label]
    return box


def vlm_row(at: AppTest) -> Any:
    return at.dataframe[0].value.set_index("model").loc[MODEL]


def test_filters_from_the_address_narrow_the_table_and_stay_in_it(lineup_home: Path) -> None:
    study_id = fill(Store(load_settings().database_url))
    query = {"study": str(study_id), "tag": "billing", "annotator": "ana"}
    at = page(query)
    assert not at.exception
    assert at.toggle[0].value is True
    row = vlm_row(at)
    # The study's billing item only: one ok answer (ana: relevant) and one error.
    assert (row["answers"], row["failed"], row["labels"], row["relevant"]) == (1, 1, 1, 1)
    assert row["median_ttft_s"] == pytest.approx(0.5)
    expected = Lineup.open().leaderboard.rows("vlm", LeaderboardFilter.from_query(query))
    assert row["pct_relevant"] == expected[0]["pct_relevant"] == 100.0
    assert at.query_params == query
    assert selectbox(at, "Tag").value == "billing"
    assert selectbox(at, "Labels by").value == "ana"
    assert any("Filtered: study #" in c.value for c in at.caption)


def test_picking_a_filter_writes_it_into_the_address(lineup_home: Path) -> None:
    fill(Store(load_settings().database_url))
    at = page()
    assert not at.exception and at.query_params == {}
    # Off until turned on: no filter widget, nothing asked of the store for them.
    assert [t.label for t in at.toggle] == ["Filters"] and not at.selectbox
    whole = vlm_row(at)
    assert (whole["answers"], whole["failed"], whole["labels"]) == (3, 2, 5)

    at.toggle[0].set_value(True).run()
    assert [b.label for b in at.selectbox] == ["Study", "Set", "Tag", "Labels by", "Status"]
    assert [t.label for t in at.toggle] == ["Filters", "Measured alone"]
    assert at.query_params == {}
    selectbox(at, "Status").set_value("ok").run()
    at.date_input[0].set_value(datetime(2026, 11, 20).date()).run()
    assert not at.exception
    assert at.query_params == {"status": "ok", "since": "2026-11-20"}
    row = vlm_row(at)
    assert (row["answers"], row["failed"], row["labels"]) == (2, 0, 3)
    assert row["median_ttft_s"] == pytest.approx(2.0)

    # The picks survive a rerun, and a reload of the same address shows the same rows.
    at.run()
    assert selectbox(at, "Status").value == "ok"
    again = page(dict(at.query_params))
    assert (vlm_row(again)["answers"], vlm_row(again)["labels"]) == (2, 3)

    # Turning the bar off clears the filters, and on again starts from none.
    at.toggle[0].set_value(False).run()
    assert at.query_params == {} and not at.selectbox
    assert (vlm_row(at)["answers"], vlm_row(at)["failed"]) == (3, 2)
    at.toggle[0].set_value(True).run()
    assert selectbox(at, "Status").value is None and at.query_params == {}


def test_a_bad_or_unknown_filter_in_the_address_is_left_out_with_a_warning(
    lineup_home: Path,
) -> None:
    fill(Store(load_settings().database_url))
    at = page({"since": "2026-13-01", "annotator": "zed", "status": "ok"})
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("`since` is left out" in w and "YYYY-MM-DD" in w for w in warnings)
    assert any("no annotator 'zed'" in w for w in warnings)
    assert at.query_params == {"status": "ok"}
    assert vlm_row(at)["answers"] == 3 and vlm_row(at)["failed"] == 0


def test_a_filter_that_matches_nothing_says_so(lineup_home: Path) -> None:
    fill(Store(load_settings().database_url))
    at = page({"status": "cancelled"})
    assert not at.exception
    assert any("No VLM answers match the filters" in i.value for i in at.info)
    assert not at.dataframe


def test_measured_alone_keeps_the_answers_that_ran_alone_and_the_badge_says_why(
    lineup_home: Path,
) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "q")
    # Three complete answers: alone (ttft 0.5), beside one other (1.5), before counting (2.5).
    for ttft, others in ((0.5, 0), (1.5, 1), (2.5, None)):
        gid = store.add_generation(run_id, MODEL)
        store.finish_generation(
            gid, "ok", output_text="x", ttft_s=ttft, total_s=ttft + 1, concurrent_max=others
        )
    at = page()
    assert (vlm_row(at)["answers"], vlm_row(at)["median_ttft_s"]) == (3, pytest.approx(1.5))
    assert any("uneven contention" in w.value for w in at.warning)  # counted 0 and 1

    at.toggle[0].set_value(True).run()
    [alone] = [t for t in at.toggle if t.label == "Measured alone"]
    alone.set_value(True).run()
    assert not at.exception
    assert at.query_params == {"alone": "yes"}
    assert (vlm_row(at)["answers"], vlm_row(at)["median_ttft_s"]) == (1, pytest.approx(0.5))
    assert not any("uneven contention" in w.value for w in at.warning)
    assert any("measured alone" in c.value for c in at.caption)
    # A reload of the address shows the same.
    again = page({"alone": "yes"})
    assert vlm_row(again)["answers"] == 1

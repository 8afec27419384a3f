"""Filtered leaderboards against plain Python over the inserted rows: each filter keeps the
rows the definition says (lineup.leaderboard_filter), and every figure over them is the one
the unfiltered leaderboard would give over those rows alone (tests.unit.test_metrics)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from lineup.cli import main
from lineup.leaderboard_filter import FAILED, LeaderboardFilter, states_of
from lineup.limits import InputError
from lineup.metrics import vlm_leaderboard
from lineup.models import FINAL_STATUSES, Generation, Label, QuestionSet, SetItemRow
from lineup.scoring import score
from lineup.service import Lineup
from lineup.settings import load_settings
from lineup.store import Store
from lineup.study_store import create_study, list_studies, load_plan
from lineup.tts_metrics import tts_leaderboard
from tests.unit.test_metrics import (
    SENTENCES,
    Inserted,
    assert_same_rows,
    expected_tts,
    expected_vlm,
)

STATES = ["ok"] * 6 + ["error", "timeout", "cancelled", "interrupted", "running"]
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30
ANNOTATORS = ["ana", "bob", "cy"]
# Per set: kind and the tags of its items (the same tag on items of two sets).
SETS: dict[str, tuple[str, list[list[str]]]] = {
    "screens": ("vlm", [["billing"], ["billing", "ru"], ["login"], [], ["ru"], ["login"]]),
    "forms": ("vlm", [["billing"], [], ["Billing"], ["ru"]]),
    "sentences": ("tts", [["numbers"], [], ["numbers", "long"], ["long"]]),
}
# Studies: (set, models); two of "screens", so a set is more than one study.
STUDIES = [
    ("screens", ["m:a", "m:b", "m:c"]),
    ("screens", ["m:a", "m:d"]),
    ("forms", ["m:b", "m:c"]),
    ("sentences", ["v:a", "v:b"]),
]
LOOSE_RUNS = {"vlm": (["m:a", "m:b", "m:e-loose-only"], 10), "tts": (["v:a", "v:c"], 8)}


def _figures(rng: random.Random, kind: str, sentence: str, spec: str) -> dict[str, Any]:
    """Figures of every kind of gap, as test_metrics.fill_store writes them."""

    def maybe(value: float, none_share: float) -> float | None:
        return None if rng.random() < none_share else value

    if kind == "vlm":
        ttft = round(rng.uniform(0.1, 2.0), 3)
        return {
            "output_text": "x",
            "ttft_s": maybe(ttft, 0.15),
            "total_s": maybe(ttft + rng.uniform(0.1, 3.0), 0.1),
            "tokens_per_s": maybe(rng.uniform(5, 90), 0.2),
        }
    transcript = rng.choice([sentence, sentence.lower().replace("the", "a"), "uh " + sentence])
    scored = rng.random() > 0.2
    result = score(sentence, transcript)
    return {
        "transcript": transcript if scored else None,
        "wer": result.wer if scored else None,
        "word_errors": result.word_errors if scored else None,
        "reference_words": result.reference_words if scored else None,
        "cer": maybe(result.cer, 0.1) if scored else None,
        "rtf": maybe(rng.uniform(0.01, 2.0), 0.1),
        "gen_s": maybe(rng.uniform(0.1, 9.0), 0.1),
        "peak_mem_mb": rng.uniform(100, 900) if spec == "v:a" else None,
    }


def fill_store(store: Store, seed: int = 11) -> Inserted:
    """Sets with tagged items, studies of them (two of one set), runs outside any study, every
    state, started over 30 days, and labels by three annotators (relabels, labels on failed
    rows as an old build wrote them). Each generation records its run's study, set and tags."""
    rng = random.Random(seed)
    inserted = Inserted()
    set_ids: dict[str, int] = {}
    with store.session() as session:
        for name, (kind, item_tags) in SETS.items():
            question_set = QuestionSet(name=name, kind=kind)
            session.add(question_set)
            session.flush()
            set_ids[name] = question_set.id
            session.add_all(
                SetItemRow(
                    set_id=question_set.id,
                    position=position,
                    text=SENTENCES[position % len(SENTENCES)] if kind == "tts" else f"q{position}",
                    tags=tags,
                )
                for position, tags in enumerate(item_tags)
            )
    # (run id, kind, sentence, study, set, tags, specs)
    runs: list[tuple[int, str, str, int | None, str | None, list[str], list[str]]] = []
    for set_name, models in STUDIES:
        study_id = create_study(
            store, set_id=set_ids[set_name], models=models, repeats=1, params={}
        )
        kind, _ = SETS[set_name]
        for item in load_plan(store, study_id).items:
            runs.append((item.run_id, kind, item.text, study_id, set_name, list(item.tags), models))
    for kind, (specs, count) in LOOSE_RUNS.items():
        for r in range(count):
            sentence = SENTENCES[r % len(SENTENCES)] if kind == "tts" else f"question {r}"
            runs.append((store.create_run(kind, sentence), kind, sentence, None, None, [], specs))

    for run_id, kind, sentence, study_id, set_name, tags, specs in runs:
        for spec in specs:
            for _ in range(rng.choice([1, 2])):
                status = rng.choice(STATES)
                gid = store.add_generation(run_id, spec)
                started = START + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
                figures = _figures(rng, kind, sentence, spec) if status != "running" else {}
                if status != "running":
                    error = None if status == "ok" else f"{status}: down"
                    store.finish_generation(gid, status, error=error, **figures)
                with store.session() as session:
                    session.execute(
                        update(Generation).where(Generation.id == gid).values(started_at=started)
                    )
                inserted.generations.append(
                    {"id": gid, "kind": kind, "spec": spec, "status": status}
                    | {"sentence": sentence, "study": study_id, "set": set_name}
                    | {"tags": tags, "started_at": started}
                    | figures
                )

    moment = START + timedelta(days=40)
    with store.session() as session:
        for generation in inserted.generations:
            if rng.random() < 0.3 or (generation["status"] != "ok" and rng.random() < 0.7):
                continue
            for annotator in rng.sample(ANNOTATORS, rng.randint(1, 3)):
                for _ in range(rng.choice([1, 1, 2])):
                    moment += timedelta(microseconds=rng.choice([0, 1, 7, -5]))
                    label = Label(
                        generation_id=generation["id"],
                        annotator=annotator,
                        relevance=rng.choice(["relevant", "partial", "irrelevant"]),
                        created_at=moment,
                    )
                    session.add(label)
                    session.flush()
                    inserted.labels.append(
                        {
                            "id": label.id,
                            "generation_id": generation["id"],
                            "annotator": annotator,
                            "relevance": label.relevance,
                            "created_at": moment,
                        }
                    )
    return inserted


def kept(inserted: Inserted, f: LeaderboardFilter) -> Inserted:
    """The rows a filter keeps, by its definition, in plain Python."""
    states = None if f.status is None else states_of(f.status)

    def keeps(g: dict[str, Any]) -> bool:
        return (
            (f.study_id is None or g["study"] == f.study_id)
            and (f.set_name is None or g["set"] == f.set_name)
            and (f.tag is None or f.tag in g["tags"])
            and (f.since is None or g["started_at"] >= f.since)
            and (f.until is None or g["started_at"] < f.until)
            and (states is None or g["status"] in states)
        )

    generations = [g for g in inserted.generations if keeps(g)]
    ids = {g["id"] for g in generations}
    labels = [
        label
        for label in inserted.labels
        if label["generation_id"] in ids and f.annotator in (None, label["annotator"])
    ]
    return Inserted(generations, labels)


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
        return home, fill_store(Store(load_settings().database_url))


@pytest.fixture
def store(filled_home: tuple[Path, Inserted], monkeypatch: pytest.MonkeyPatch) -> Store:
    use_home(monkeypatch, filled_home[0])
    return Store(load_settings().database_url)


@pytest.fixture
def filled(filled_home: tuple[Path, Inserted], store: Store) -> Inserted:
    return filled_home[1]


def study_ids(store: Store) -> list[int]:
    return sorted(s.id for s in list_studies(store))


# Each filter, and some together. Study numbers are positions in STUDIES (ids are 1, 2, ...).
FILTERS: dict[str, Callable[[list[int]], LeaderboardFilter]] = {
    "study": lambda s: LeaderboardFilter(study_id=s[0]),
    "another study of the same set": lambda s: LeaderboardFilter(study_id=s[1]),
    "voice study": lambda s: LeaderboardFilter(study_id=s[3]),
    "set": lambda s: LeaderboardFilter(set_name="screens"),
    "voice set": lambda s: LeaderboardFilter(set_name="sentences"),
    "tag on items of two sets": lambda s: LeaderboardFilter(tag="billing"),
    "tag is case-sensitive": lambda s: LeaderboardFilter(tag="Billing"),
    "voice tag": lambda s: LeaderboardFilter(tag="long"),
    "tag within a set": lambda s: LeaderboardFilter(set_name="forms", tag="ru"),
    "tag within a study": lambda s: LeaderboardFilter(study_id=s[1], tag="login"),
    "since": lambda s: LeaderboardFilter(since=START + timedelta(days=12)),
    "until": lambda s: LeaderboardFilter(until=START + timedelta(days=9, hours=5)),
    "date range": lambda s: LeaderboardFilter(
        since=START + timedelta(days=5), until=START + timedelta(days=20)
    ),
    "annotator": lambda s: LeaderboardFilter(annotator="bob"),
    "status ok": lambda s: LeaderboardFilter(status="ok"),
    "status failed": lambda s: LeaderboardFilter(status=FAILED),
    "status error": lambda s: LeaderboardFilter(status="error"),
    "status running": lambda s: LeaderboardFilter(status="running"),
    "annotator and status ok": lambda s: LeaderboardFilter(annotator="ana", status="ok"),
    "everything at once": lambda s: LeaderboardFilter(
        study_id=s[0],
        set_name="screens",
        tag="billing",
        since=START + timedelta(days=2),
        until=START + timedelta(days=28),
        annotator="cy",
        status="ok",
    ),
    "set and dates and annotator": lambda s: LeaderboardFilter(
        set_name="screens", since=START + timedelta(days=10), annotator="ana"
    ),
    "no study is of this set and kind": lambda s: LeaderboardFilter(
        study_id=s[3], set_name="screens"
    ),
}


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
    assert app.leaderboard("vlm", LeaderboardFilter()) == app.leaderboard("vlm")
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
            app.leaderboard("vlm", f)


def test_the_filter_choices_are_what_the_store_holds(store: Store, filled: Inserted) -> None:
    choices = Lineup.open().leaderboard_filter_choices()
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

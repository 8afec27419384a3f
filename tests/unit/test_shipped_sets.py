"""The sets that ship with Lineup (lineup.shipped_sets): what each holds, and stored at most
once however often, from however many places, it is imported."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from lineup.sets.items import SetError
from lineup.sets.shipped import ShippedImport, UnknownShippedSet

SHIPPED = ["photo-study", "support-screenshots", "voice-sentences", "voice-sentences-ru"]


@pytest.fixture()
def app(lineup_home: Path) -> Lineup:
    return Lineup.open()


def test_each_shipped_set_says_what_it_holds(app: Lineup) -> None:
    offered = {s.name: s for s in app.sets.shipped()}
    assert list(offered) == SHIPPED
    photos, screenshots, voices, russian = (offered[name] for name in SHIPPED)
    assert (photos.kind, photos.items, photos.languages) == ("vlm", 15, {"en": 10, "ru": 5})
    assert (screenshots.items, screenshots.with_reference) == (16, 16)
    assert (voices.kind, voices.items) == ("tts", 6)
    assert (russian.kind, russian.items, russian.languages) == ("tts", 8, {"ru": 8})
    assert all(
        s.stored_as is None and not s.name_taken and s.problem is None for s in offered.values()
    )


def test_two_imports_at_once_store_the_set_once(
    app: Lineup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clicks (two tabs, two processes) that both find the set not stored yet: the store
    keeps one, and the second is told it is there."""
    from lineup.sets import shipped as shipped_sets

    both_checked = threading.Barrier(2, timeout=30)
    save_set = shipped_sets.save_set

    def save_after_both_checked(*args: Any) -> Any:
        both_checked.wait()
        return save_set(*args)

    monkeypatch.setattr(shipped_sets, "save_set", save_after_both_checked)
    results: list[ShippedImport] = []

    def click() -> None:
        results.append(app.sets.import_shipped("support-screenshots"))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.already_stored for r in results) == [False, True]
    assert {r.summary.id for r in results} == {app.sets.stored()[0].id}
    assert [s.name for s in app.sets.stored()] == ["support-screenshots"]


def test_a_stored_copy_under_another_name_counts_as_stored(app: Lineup) -> None:
    folder = Path(__file__).resolve().parents[2] / "sample_media" / "sets" / "photo-study"
    app.sets.import_path(folder, name="my photos")
    [photos] = [s for s in app.sets.shipped() if s.name == "photo-study"]
    assert (photos.stored_as, photos.name_taken) == ("my photos", False)
    again = app.sets.import_shipped("photo-study")
    assert (again.already_stored, again.summary.name) == (True, "my photos")
    assert [s.name for s in app.sets.stored()] == ["my photos"]


def test_a_different_set_under_the_name_is_left_alone(app: Lineup, tmp_path: Path) -> None:
    folder = tmp_path / "voice-sentences"
    folder.mkdir()
    (folder / "sentences.txt").write_text("Another sentence.\n", encoding="utf-8")
    app.sets.import_path(folder)
    [voices] = [s for s in app.sets.shipped() if s.name == "voice-sentences"]
    assert (voices.stored_as, voices.name_taken) == (None, True)
    with pytest.raises(SetError, match="already stored"):
        app.sets.import_shipped("voice-sentences")
    [stored] = app.sets.stored()
    assert stored.items == 1


def test_an_unknown_name_lists_the_shipped_sets(app: Lineup) -> None:
    with pytest.raises(UnknownShippedSet) as error:
        app.sets.import_shipped("../photo-study")
    assert all(name in str(error.value) for name in SHIPPED)
    assert app.sets.stored() == []


def test_a_shipped_set_whose_images_are_not_written_yet_says_how_to_write_them(
    app: Lineup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineup.sets import shipped as shipped_sets

    root = tmp_path / "sets"
    (root / "photo-study").mkdir(parents=True)
    (root / "photo-study" / "questions.csv").write_text(
        "image,question\nphotos/cat.jpg,What is it?\n", encoding="utf-8"
    )
    [offered] = shipped_sets.shipped_sets(app.store, root=root)
    assert offered.kind is None and offered.problem is not None
    assert "cat.jpg" in offered.problem and "make_samples.py" in offered.problem


def test_the_russian_sentences_have_numbers_yo_a_question_and_an_exclamation(app: Lineup) -> None:
    from lineup.sets.read import read_set
    from lineup.sets.shipped import SETS_DIR

    sentences = [item.text for item in read_set(SETS_DIR / "voice-sentences-ru").items]
    assert 6 <= len(sentences) <= 10
    assert sum(any(c.isdigit() for c in s) for s in sentences) >= 3
    assert any("%" in s for s in sentences)
    assert sum("ё" in s.lower() for s in sentences) >= 3
    assert any(s.endswith("?") for s in sentences) and any("!" in s for s in sentences)

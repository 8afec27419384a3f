"""The Sets page, headless with Streamlit's AppTest: import a set from an upload, or see every
problem of a refused one with its line; the stored sets; a preview of a set's items, paged."""

from __future__ import annotations

import errno
import io
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from tests.builders import png_bytes

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def sets_page() -> AppTest:
    """The Sets page as the app serves it (through app.py's navigation)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/sets.py")
    return at.run()


def zipped(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def good_zip() -> bytes:
    return zipped(
        {
            "tickets/questions.csv": "image,question,reference,language,tags\n"
            "shots/pay.png,What went wrong?,The card was declined,en,payment;card\n"
            "shots/pay.png,Что случилось?,,ru,payment\n"
            "shots/login.png,Which button is shown?,Sign in,en,\n",
            "tickets/shots/pay.png": png_bytes(color="navy", text="PAY"),
            "tickets/shots/login.png": png_bytes(size=(40, 80), color="green", text="IN"),
        }
    )


def upload(at: AppTest, name: str, data: bytes, set_name: str = "") -> AppTest:
    at.file_uploader(key="set-upload").set_value((name, data, "application/zip"))
    at.text_input(key="set-name").set_value(set_name)
    at.run()
    return at.button(key="set-import").click().run()


def test_a_good_zip_is_stored_listed_and_previewed(lineup_home: Path) -> None:
    at = sets_page()
    assert not at.exception
    assert any("No set yet" in info.value for info in at.info)

    upload(at, "tickets.zip", good_zip(), set_name="Support tickets")
    assert not at.exception
    assert [s.value for s in at.success] == ["Stored the set **Support tickets**: 3 questions."]
    [stored] = Lineup.open().sets.stored()
    assert (stored.name, stored.kind, stored.items, stored.with_reference) == (
        "Support tickets",
        "vlm",
        3,
        2,
    )
    listed, items = at.dataframe[0].value, at.dataframe[1].value
    assert listed.to_dict("records")[0] | {"created": None} == {
        "name": "Support tickets",
        "kind": "VLM",
        "items": 3,
        "with_reference": 2,
        "languages": "en 2, ru 1",
        "created": None,
        "source": "tickets/questions.csv in tickets.zip",
    }
    assert list(items["number"]) == [1, 2, 3]
    assert list(items["text"]) == ["What went wrong?", "Что случилось?", "Which button is shown?"]
    assert list(items["reference"].fillna("")) == ["The card was declined", "", "Sign in"]
    assert list(items["tags"]) == ["payment, card", "payment", ""]
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in items["image"])
    assert at.selectbox(key="set-preview").value == "Support tickets"
    assert not at.pagination  # three items fit one page


def test_a_bad_zip_lists_every_problem_with_its_line_and_stores_nothing(
    lineup_home: Path,
) -> None:
    bad = zipped(
        {
            "shots/questions.csv": "image,question,language\n"
            "a.png,What is it?,en\n"
            "missing.png,Where?,en\n"
            "a.png,,en\n"
            "a.png,Why?,english!\n",
            "shots/a.png": png_bytes(),
        }
    )
    at = upload(sets_page(), "shots.zip", bad)
    assert not at.exception
    [error] = at.error
    assert "3 problems" in error.value
    [listed] = at.code
    lines = listed.value.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "questions.csv, line 3",
        "questions.csv, line 4",
        "questions.csv, line 5",
    ]
    assert "missing.png" in lines[0] and "question is empty" in lines[1]
    assert "'english!' is not a language tag" in lines[2]
    assert Lineup.open().sets.stored() == []
    assert not at.success


def test_a_name_already_taken_is_refused(lineup_home: Path) -> None:
    at = upload(sets_page(), "tickets.zip", good_zip(), set_name="tickets")
    at.button(key="set-import").click().run()
    assert not at.exception
    assert "already stored" in at.code[0].value
    assert len(Lineup.open().sets.stored()) == 1


def test_a_big_sentences_file_is_paged(lineup_home: Path) -> None:
    sentences = "\n".join(f"Sentence number {n} is here." for n in range(1, 46)) + "\n"
    at = upload(sets_page(), "readings.txt", sentences.encode())
    assert not at.exception
    assert [s.value for s in at.success] == ["Stored the set **readings**: 45 sentences."]
    items = at.dataframe[1].value
    assert list(items["number"]) == list(range(1, 21))
    assert "image" not in at.dataframe[1].proto.column_order
    assert any(c.value == "Items 1–20 of 45" for c in at.caption)

    at.pagination(key=f"set-page-{Lineup.open().sets.stored()[0].id}").set_value(3).run()
    assert not at.exception
    items = at.dataframe[1].value
    assert list(items["text"]) == [f"Sentence number {n} is here." for n in range(41, 46)]
    assert any(c.value == "Items 41–45 of 45" for c in at.caption)


def test_a_zip_with_two_set_files_of_one_name_is_refused_on_the_page(lineup_home: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
        archive.writestr("questions.csv", "image,question\na.png,What is it?\n")
        archive.writestr("a.png", png_bytes())
        archive.writestr("questions.csv", "image,question\na.png,Something else?\n")
    at = upload(sets_page(), "twice.zip", buffer.getvalue())
    assert not at.exception
    assert "1 problem" in at.error[0].value
    assert at.code[0].value == (
        "The zip holds 'questions.csv' twice; Lineup cannot tell which one is meant. Zip the "
        "set's folder again."
    )
    assert Lineup.open().sets.stored() == [] and not at.success


def test_a_full_disk_is_a_message_saying_what_to_do_and_stores_nothing(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = sets_page()
    media_dir = str(lineup_home / "media")
    real_write = os.write

    def full_disk(fd: int, data: Any) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(media_dir):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    upload(at, "tickets.zip", good_zip())
    monkeypatch.setattr(os, "write", real_write)

    assert not at.exception
    [error] = at.error
    assert "is full" in error.value and "Free some space" in error.value
    assert Lineup.open().sets.stored() == [] and not at.success
    assert not any((lineup_home / "media").rglob("*.*"))


# The sets that ship with Lineup (sample_media/sets/) --------------------------------------

SHIPPED = ("photo-study", "support-screenshots", "voice-sentences")


def shipped_row(at: AppTest, name: str) -> str:
    """The text of a shipped set's row: what it holds, and whether it is stored."""
    [row] = [md.value for md in at.markdown if f"**{name}**" in md.value]
    return row


def test_the_shipped_sets_are_offered_with_what_each_holds(lineup_home: Path) -> None:
    at = sets_page()
    assert not at.exception
    rows = {name: shipped_row(at, name) for name in SHIPPED}
    assert "VLM" in rows["photo-study"] and "15 questions" in rows["photo-study"]
    assert "en 10, ru 5" in rows["photo-study"]
    assert "16 questions" in rows["support-screenshots"]
    assert "16 with a reference answer" in rows["support-screenshots"]
    assert "en 10, ru 6" in rows["support-screenshots"]
    assert "voices" in rows["voice-sentences"] and "6 sentences" in rows["voice-sentences"]
    assert "en 6" in rows["voice-sentences"]
    for name in SHIPPED:
        button = at.button(key=f"shipped-import-{name}")
        assert not button.disabled and button.label == "Import"


def test_a_shipped_set_imports_with_one_click_and_says_so_after(lineup_home: Path) -> None:
    at = sets_page()
    at.button(key="shipped-import-photo-study").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Stored the set **photo-study**: 15 questions."]
    [stored] = Lineup.open().sets.stored()
    assert (stored.name, stored.kind, stored.items) == ("photo-study", "vlm", 15)
    assert "imported" in shipped_row(at, "photo-study").lower()
    assert at.button(key="shipped-import-photo-study").disabled
    assert not at.button(key="shipped-import-voice-sentences").disabled
    assert at.selectbox(key="set-preview").value == "photo-study"  # previewed below

    # A new visit says it is there too.
    again = sets_page()
    assert "imported" in shipped_row(again, "photo-study").lower()
    assert again.button(key="shipped-import-photo-study").disabled


def test_a_shipped_set_clicked_in_two_tabs_is_stored_once(lineup_home: Path) -> None:
    first, second = sets_page(), sets_page()  # both drawn before either click
    first.button(key="shipped-import-voice-sentences").click().run()
    second.button(key="shipped-import-voice-sentences").click().run()
    assert not first.exception and not second.exception
    assert [s.name for s in Lineup.open().sets.stored()] == ["voice-sentences"]
    # The second tab's click comes to a set stored meanwhile: no error, and its row says so.
    assert not second.error
    assert "imported" in shipped_row(second, "voice-sentences").lower()
    assert second.button(key="shipped-import-voice-sentences").disabled

"""`python -m lineup sets import|list`: the shipped sets stored whole, a bad set refused with its
line and nothing stored, a taken name refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core.settings import load_settings
from lineup.store.media import MediaStore
from tests.builders import big_png, png_bytes

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "sample_media" / "sets"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def media_files(home: Path) -> list[Path]:
    media = home / "media"
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_the_shipped_sets_import_whole_and_are_listed(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sets", "import", str(SETS / "photo-study"), "--json")
    assert code == 0, err
    photos = json.loads(out)
    assert (photos["name"], photos["kind"], photos["items"]) == ("photo-study", "vlm", 15)
    code, out, _ = run(capsys, "sets", "import", str(SETS / "support-screenshots"), "--json")
    screenshots = json.loads(out)
    assert screenshots["items"] == screenshots["with_reference"] == 16
    assert set(screenshots["languages"]) == {"en", "ru"}
    code, out, _ = run(capsys, "sets", "import", str(SETS / "voice-sentences"), "--name", "bark")
    assert code == 0 and "set 'bark' (tts): 6 items" in out

    code, out, _ = run(capsys, "sets", "list", "--json")
    listed = json.loads(out)["sets"]
    assert [(s["name"], s["items"]) for s in listed] == [
        ("bark", 6),
        ("support-screenshots", 16),
        ("photo-study", 15),
    ]
    app = Lineup.open()
    stored = app.sets.get("photo-study")
    assert stored is not None and [item.position for item in stored.items] == list(range(15))
    media = MediaStore(load_settings().media_dir)
    # Five photographs, three questions each: five images in the media store, each readable.
    hashes = {item.image_hash for item in stored.items}
    assert len(hashes) == 5 and all(media.path(h) is not None for h in hashes if h)
    first = stored.items[0]
    assert first.text and first.language in ("en", "ru") and first.image_hash


def test_a_taken_name_is_refused_and_nothing_is_stored_twice(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "sets", "import", str(SETS / "voice-sentences"))[0] == 0
    code, out, err = run(capsys, "sets", "import", str(SETS / "voice-sentences"))
    assert code == 2 and out == ""
    assert "already stored" in err and "--name" in err
    assert len(Lineup.open().sets.stored()) == 1


def test_a_bad_row_is_refused_with_its_line_and_nothing_is_stored(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "tickets"
    folder.mkdir()
    (folder / "ok.png").write_bytes(png_bytes((40, 30)))
    (folder / "questions.csv").write_text(
        "image,question,reference\n"
        'ok.png,"What does the\nscreen say?",Payment failed\n'
        "missing.png,What is shown?,\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "sets", "import", str(folder))
    assert code == 2 and out == ""
    assert "line 4" in err and "missing.png" in err
    assert "Traceback" not in err
    assert Lineup.open().sets.stored() == []
    assert media_files(lineup_home) == []  # not even the good row's image


def test_an_uploaded_zip_of_a_set_folder_is_stored_like_the_folder(lineup_home: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    folder = SETS / "support-screenshots"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"support-screenshots/{path.relative_to(folder)}")
    app = Lineup.open()
    summary = app.sets.import_upload("tickets.zip", buffer.getvalue(), name="tickets")
    assert (summary.name, summary.kind, summary.items, summary.with_reference) == (
        "tickets",
        "vlm",
        16,
        16,
    )
    stored = app.sets.get("tickets")
    assert stored is not None
    from_folder = app.sets.import_path(folder)
    folder_set = app.sets.get(from_folder.name)
    assert folder_set is not None
    # The same items, the same images (by hash), whichever way the set arrived.
    assert [(i.text, i.image_hash, i.reference, i.language) for i in stored.items] == [
        (i.text, i.image_hash, i.reference, i.language) for i in folder_set.items
    ]


# Hostile sets: exit 2 with the file, line and field, never "bug", nothing stored -------------


def test_a_5000_digit_number_in_a_jsonl_exits_2_naming_file_line_and_field(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "numbers"
    folder.mkdir()
    (folder / "cat.png").write_bytes(png_bytes((40, 30)))
    (folder / "questions.jsonl").write_text(
        '{"image": "cat.png", "question": "What?"}\n'
        f'{{"image": "cat.png", "question": "What?", "language": {"7" * 5_000}}}\n'
    )
    code, out, err = run(capsys, "sets", "import", str(folder))
    assert (code, out) == (2, "")
    assert "questions.jsonl, line 2: 'language' must be a string, not a number." in err
    assert "bug" not in err and "Traceback" not in err
    assert Lineup.open().sets.stored() == [] and media_files(lineup_home) == []


def test_a_zip_of_400_forty_megapixel_pngs_is_refused_in_seconds_with_the_limit(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: 400 distinct 40-megapixel PNGs of a few KB each took 193 s to decode."""
    import io
    import time
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "bombs/questions.csv",
            "image,question\n" + "".join(f"p{n}.png,What?\n" for n in range(400)),
        )
        for n in range(400):
            archive.writestr(f"bombs/p{n}.png", big_png(8000, 5000, n))
    (tmp_path / "bombs.zip").write_bytes(buffer.getvalue())

    started = time.monotonic()
    code, out, err = run(capsys, "sets", "import", str(tmp_path / "bombs.zip"))
    elapsed_s = time.monotonic() - started

    assert (code, out) == (2, "")
    assert elapsed_s < 60  # decoding them would take minutes; reading 400 headers, a second
    assert (
        "questions.csv, line 252: with this item's image, the set's images add up to 10,040 "
        "megapixels, over the limit of 10,000 megapixels for one set" in err
    )
    assert "LINEUP_MAX_SET_MEGAPIXELS" in err
    assert Lineup.open().sets.stored() == [] and media_files(lineup_home) == []


def test_the_set_pixel_limit_is_the_lineup_max_set_megapixels_setting(
    lineup_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.png").write_bytes(png_bytes((40, 30), text=str(n)))  # 1,200 pixels
    (folder / "questions.csv").write_text(
        "image,question\n" + "".join(f"{n}.png,What?\n" for n in range(3))
    )
    monkeypatch.setenv("LINEUP_MAX_SET_MEGAPIXELS", "0.003")
    code, out, err = run(capsys, "sets", "import", str(folder))
    assert (code, out) == (2, "")
    assert (
        "questions.csv, line 4: with this item's image, the set's images add up to 0.0036 "
        "megapixels, over the limit of 0.003 megapixels for one set" in err
    )
    monkeypatch.setenv("LINEUP_MAX_SET_MEGAPIXELS", "0.0036")
    assert run(capsys, "sets", "import", str(folder))[0] == 0


def run_argv(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`run`, with argparse's own usage errors (SystemExit) as exit codes."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_shipped_set_imports_by_name_once_however_often_it_is_asked_for(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sets", "import", "--shipped", "support-screenshots", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["name"], first["kind"], first["items"], first["with_reference"]) == (
        "support-screenshots",
        "vlm",
        16,
        16,
    )
    assert first["languages"] == {"en": 10, "ru": 6}
    assert first["already_stored"] is False

    # Asked again (by name, or by its folder's path): the stored set, not a second copy.
    code, out, err = run(capsys, "sets", "import", "--shipped", "support-screenshots", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["already_stored"] is True and again["id"] == first["id"]
    code, out, err = run(capsys, "sets", "import", "--shipped", "support-screenshots")
    assert code == 0 and "already stored" in out and "support-screenshots" in out
    assert [s.name for s in Lineup.open().sets.stored()] == ["support-screenshots"]

    code, out, err = run(capsys, "sets", "import", "--shipped", "voice-sentences")
    assert code == 0, err
    assert "set 'voice-sentences' (tts): 6 items" in out
    assert sorted(s.name for s in Lineup.open().sets.stored()) == [
        "support-screenshots",
        "voice-sentences",
    ]


def test_an_unknown_shipped_set_is_refused_with_the_names_there_are(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sets", "import", "--shipped", "photos", "--json")
    assert code == 2 and out == ""
    assert "photos" in err
    for name in ("photo-study", "support-screenshots", "voice-sentences"):
        assert name in err
    assert "Traceback" not in err and "bug" not in err
    assert Lineup.open().sets.stored() == []


def test_shipped_and_a_path_are_one_or_the_other(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(SETS / "photo-study")
    code, out, err = run_argv(capsys, "sets", "import", folder, "--shipped", "photo-study")
    assert code == 2 and out == ""
    assert "not allowed with" in err
    code, out, err = run_argv(capsys, "sets", "import")
    assert code == 2 and "--shipped" in err
    assert Lineup.open().sets.stored() == []


def test_a_shipped_set_whose_name_holds_another_set_asks_for_another_name(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "voice-sentences"
    other.mkdir()
    (other / "sentences.txt").write_text("Not the shipped sentence.\n", encoding="utf-8")
    assert run(capsys, "sets", "import", str(other))[0] == 0

    code, out, err = run(capsys, "sets", "import", "--shipped", "voice-sentences")
    assert code == 2 and out == ""
    assert "already stored" in err and "--name" in err
    code, out, err = run(
        capsys, "sets", "import", "--shipped", "voice-sentences", "--name", "bark", "--json"
    )
    assert code == 0, err
    assert (json.loads(out)["name"], json.loads(out)["items"]) == ("bark", 6)
    # Now stored (as "bark"): asked again under its own name, it is found, not stored twice.
    code, out, err = run(capsys, "sets", "import", "--shipped", "voice-sentences", "--json")
    assert code == 0, err
    assert (json.loads(out)["name"], json.loads(out)["already_stored"]) == ("bark", True)
    assert sorted(s.name for s in Lineup.open().sets.stored()) == ["bark", "voice-sentences"]

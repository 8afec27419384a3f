"""Question sets read from folders, zips, lone files and uploads (lineup.question_sets)."""

from __future__ import annotations

import importlib.util
import io
import json
import stat
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
from PIL import ImageFile

from lineup.core.limits import InputError
from lineup.sets import read as question_sets
from lineup.sets.items import SetError, check_language, check_set_name, parse_tags
from lineup.sets.read import read_set, read_set_bytes
from tests.builders import big_png, png_bytes

REPO_DIR = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_DIR / "sample_media"
SCRIPT = REPO_DIR / "scripts" / "make_samples.py"

CAT = png_bytes((40, 30), "orange")
DOG = png_bytes((30, 40), "brown")


def make_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
    return folder


def zip_bytes(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def problems_of(path: Path | str, **kwargs: object) -> tuple[str, ...]:
    with pytest.raises(SetError) as caught:
        read_set(path, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


# The happy paths ------------------------------------------------------------------------------


def test_questions_csv_reads_every_item_with_its_validated_image(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "Pets study",
        {
            "questions.csv": (
                "image,question,reference,language,tags\n"
                "cat.png,What animal is this?,A cat.,EN,pets; cat\n"
                'photos/dog.png,  Какого цвета собака?  ,,ru,"pets,dog,,pets"\n'
                "cat.png,Is it night?,,pt-br,\n"
            ),
            "cat.png": CAT,
            "photos/dog.png": DOG,
            "notes.txt": "not a set file, ignored",
        },
    )

    parsed = read_set(folder)

    assert parsed.name == "Pets study"
    assert parsed.kind == "vlm"
    assert parsed.source == str(folder / "questions.csv")
    assert [item.line for item in parsed.items] == [2, 3, 4]
    assert [item.text for item in parsed.items] == [
        "What animal is this?",
        "Какого цвета собака?",
        "Is it night?",
    ]
    assert [item.image for item in parsed.items] == [CAT, DOG, CAT]
    assert [item.image_name for item in parsed.items] == ["cat.png", "photos/dog.png", "cat.png"]
    assert [item.image_suffix for item in parsed.items] == [".png", ".png", ".png"]
    assert [item.reference for item in parsed.items] == ["A cat.", None, None]
    assert [item.language for item in parsed.items] == ["en", "ru", "pt-BR"]
    assert [item.tags for item in parsed.items] == [("pets", "cat"), ("pets", "dog"), ()]


def test_columns_come_in_any_order_and_case_and_short_rows_leave_columns_empty(
    tmp_path: Path,
) -> None:
    folder = make_folder(
        tmp_path / "set",
        {"questions.csv": "Question, IMAGE ,language\r\nWhat is it?,cat.png\r\n", "cat.png": CAT},
    )

    (item,) = read_set(folder).items

    assert (item.text, item.image_name, item.language, item.line) == (
        "What is it?",
        "cat.png",
        None,
        2,
    )


def test_questions_jsonl_reads_lists_or_strings_of_tags_and_skips_blank_lines(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps({"image": "cat.png", "question": "What is it?", "tags": ["a", "b; c", "a"]}),
        "",
        json.dumps(
            {
                "image": "cat.png",
                "question": "Что это?",
                "reference": None,
                "language": "RU",
                "tags": "x, y",
            },
            ensure_ascii=False,
        ),
    ]
    folder = make_folder(
        tmp_path / "jsonl", {"questions.jsonl": "\n".join(lines) + "\n", "cat.png": CAT}
    )

    parsed = read_set(folder)

    assert parsed.kind == "vlm"
    assert [(item.line, item.text, item.language, item.tags) for item in parsed.items] == [
        (1, "What is it?", None, ("a", "b", "c")),
        (3, "Что это?", "ru", ("x", "y")),
    ]


def test_sentences_txt_is_one_sentence_per_line_and_skips_blank_lines(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "voices", {"sentences.txt": "\ufeffHello there.\n\n  \nSecond one!  \n"}
    )

    parsed = read_set(folder)

    assert (parsed.name, parsed.kind) == ("voices", "tts")
    assert [(item.line, item.text, item.image, item.language) for item in parsed.items] == [
        (1, "Hello there.", None, None),
        (4, "Second one!", None, None),
    ]


def test_sentences_csv_reads_language_and_tags(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "voices",
        {"sentences.csv": 'text,language,tags\n"Hi, Anna.",en,names\nПривет.,ru,\n'},
    )

    parsed = read_set(folder)

    assert parsed.kind == "tts"
    assert [(item.text, item.language, item.tags) for item in parsed.items] == [
        ("Hi, Anna.", "en", ("names",)),
        ("Привет.", "ru", ()),
    ]


def test_a_set_file_given_directly_takes_its_folder_name_and_images_beside_it(
    tmp_path: Path,
) -> None:
    folder = make_folder(
        tmp_path / "study",
        {"questions.csv": "image,question\ncat.png,What is it?\n", "cat.png": CAT},
    )
    make_folder(tmp_path / "study", {"my-voices.csv": "text\nHello.\n"})

    by_standard_name = read_set(folder / "questions.csv")
    by_other_name = read_set(folder / "my-voices.csv", name="  Voices, take 2 ")

    assert (by_standard_name.name, by_standard_name.kind) == ("study", "vlm")
    assert by_standard_name.items[0].image == CAT
    assert (by_other_name.name, by_other_name.kind) == ("Voices, take 2", "tts")


@pytest.mark.parametrize("inside_folder", [False, True], ids=["at-root", "in-one-folder"])
def test_a_zip_reads_with_the_set_at_its_root_or_in_one_top_level_folder(
    tmp_path: Path, inside_folder: bool
) -> None:
    prefix = "pets/" if inside_folder else ""
    data = zip_bytes(
        {
            f"{prefix}questions.csv": "image,question,language\nimg/cat.png,What is it?,en\n",
            f"{prefix}img/cat.png": CAT,
            "__MACOSX/pets/._questions.csv": b"\x00\x05junk",
            f"{prefix}.DS_Store": b"junk",
        }
    )
    (tmp_path / "pets-set.zip").write_bytes(data)

    from_path = read_set(tmp_path / "pets-set.zip")
    uploaded = read_set_bytes("C:\\Users\\me\\pets-set.zip", data)

    for parsed in (from_path, uploaded):
        assert (parsed.name, parsed.kind) == ("pets-set", "vlm")
        assert [(item.text, item.image, item.image_name) for item in parsed.items] == [
            ("What is it?", CAT, "img/cat.png")
        ]
    assert uploaded.source == f"{prefix}questions.csv in pets-set.zip"


def test_uploaded_voice_sets_read_from_a_lone_csv_or_txt() -> None:
    from_csv = read_set_bytes("My voices.csv", b"text,language\nHello.,en\n")
    from_txt = read_set_bytes("sentences.txt", "Раз.\nДва.\n".encode(), name="Счёт")

    assert (from_csv.name, from_csv.kind, from_csv.source) == ("My voices", "tts", "My voices.csv")
    assert [item.text for item in from_csv.items] == ["Hello."]
    assert (from_txt.name, [item.text for item in from_txt.items]) == ("Счёт", ["Раз.", "Два."])


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("questions.csv", b"image,question\ncat.png,What?\n"),
        ("study.csv", b"question,image\nWhat?,cat.png\n"),
        ("questions.jsonl", b'{"image": "cat.png", "question": "What?"}\n'),
    ],
)
def test_an_uploaded_lone_question_file_is_refused_asking_for_a_zip(
    filename: str, data: bytes
) -> None:
    with pytest.raises(SetError) as caught:
        read_set_bytes(filename, data)

    assert caught.value.problems == (
        f"{filename} is a set of questions about images, and the images do not come with it. "
        f"Upload a .zip of the folder that holds {filename} and its images.",
    )


def test_a_byte_order_mark_before_the_header_is_accepted(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "bom", {"sentences.csv": "\ufefftext,language\nHi.,en\n"})

    assert [item.text for item in read_set(folder).items] == ["Hi."]


def test_tags_split_on_semicolons_and_commas_dropping_empties_and_repeats() -> None:
    assert parse_tags(" b ; a,, b ;c ") == ("b", "a", "c")
    assert parse_tags(["x", "y;x", " "]) == ("x", "y")
    assert parse_tags("") == ()
    assert parse_tags(None) == ()
    with pytest.raises(InputError, match="one string of tags"):
        parse_tags(["x", 3])
    with pytest.raises(InputError, match="over the limit of 64"):
        parse_tags("x" * 65)


def test_language_tags_are_checked_and_cased_as_usual() -> None:
    assert check_language(" RU ") == "ru"
    assert check_language("pt-br") == "pt-BR"
    assert check_language("ZH-hant-tw") == "zh-Hant-TW"
    assert check_language("es-419") == "es-419"
    assert check_language("") is None
    for bad in ("english", "e", "pt_BR", "en-", "r1"):
        with pytest.raises(InputError, match="is not a language tag"):
            check_language(bad)


def test_set_names_are_stripped_and_limited() -> None:
    assert check_set_name("  Photo study  ") == "Photo study"
    assert check_set_name("x" * 128) == "x" * 128
    with pytest.raises(InputError, match="over the limit of 128"):
        check_set_name("x" * 129)
    with pytest.raises(InputError, match="control character"):
        check_set_name("two\nlines")
    with pytest.raises(InputError, match="empty"):
        check_set_name("   ")


# Refusals -------------------------------------------------------------------------------------


def test_a_bad_row_after_a_multi_line_field_is_reported_at_its_own_line(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.csv": (
                "image,question,language\n"
                'cat.png,"Describe:\n1. the animal\n2. the light",en\n'
                "\n"
                "cat.png,What is it?,english\n"
                ",What is it?\n"
                ",,\n"
                '"","What\nis it?"\n'
            ),
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.csv, line 6: 'english' is not a language tag. Write a code such as en, ru "
        "or pt-BR, or leave the language empty.",
        "questions.csv, line 7: no image: give the path of an image file, relative to the folder "
        "that holds the set file.",
        "questions.csv, line 9: no image: give the path of an image file, relative to the folder "
        "that holds the set file.",
    )


def test_every_problem_is_collected_and_the_message_shows_twenty(tmp_path: Path) -> None:
    rows = "".join(f"cat.png,Question {n},xx-\n" for n in range(25))
    folder = make_folder(
        tmp_path / "set", {"questions.csv": "image,question,language\n" + rows, "cat.png": CAT}
    )

    with pytest.raises(SetError) as caught:
        read_set(folder)

    assert len(caught.value.problems) == 25
    assert caught.value.problems[24].startswith("questions.csv, line 26: 'xx-' is not")
    message = str(caught.value).splitlines()
    assert message[0] == f"Nothing was imported from {folder / 'questions.csv'}; 25 problems:"
    assert len(message) == 1 + 20 + 1
    assert message[-1] == "- and 5 more."


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (
            "missing.png",
            "the image 'missing.png' is missing: there is no such file in {folder}. Check the "
            "path and its upper and lower case.",
        ),
        (
            "../outside.png",
            "the image path '../outside.png' leads out of the set's folder (..). Copy the image "
            "into the folder and give its path there.",
        ),
        (
            "photos\\..\\..\\outside.png",
            "the image path 'photos\\\\..\\\\..\\\\outside.png' leads out of the set's "
            "folder (..). Copy the image into the folder and give its path there.",
        ),
        (
            "{outside}",
            "the image path '{outside}' is absolute. Give it relative to the folder that holds "
            "the set file, such as photos/cat.jpg.",
        ),
        (
            "C:\\photos\\cat.png",
            "the image path 'C:\\\\photos\\\\cat.png' is absolute. Give it relative to the folder "
            "that holds the set file, such as photos/cat.jpg.",
        ),
        (
            "link.png",
            "the image 'link.png' is a symbolic link to a file outside the set's folder. Copy "
            "the image itself into the folder.",
        ),
        (
            "broken.png",
            "the image 'broken.png': This file is not an image Lineup can read. Upload a PNG, "
            "JPEG, WebP or GIF image.",
        ),
    ],
    ids=["missing", "dot-dot", "backslash-dot-dot", "absolute", "drive", "symlink", "not-image"],
)
def test_an_image_that_may_not_be_used_is_refused(tmp_path: Path, image: str, problem: str) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(CAT)
    folder = make_folder(
        tmp_path / "set",
        {"broken.png": b"this is text, not a picture", "photos/cat.png": CAT},
    )
    (folder / "link.png").symlink_to(outside)
    image = image.replace("{outside}", str(outside))
    (folder / "questions.csv").write_text(f'image,question\n"{image}",What is it?\n')

    expected = problem.format(folder=folder, outside=outside)
    assert problems_of(folder) == (f"questions.csv, line 2: {expected}",)


def test_an_image_over_the_size_limit_is_refused_like_an_upload(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set", {"questions.csv": "image,question\ncat.png,What?\n", "cat.png": CAT}
    )

    (problem,) = problems_of(folder, max_image_bytes=len(CAT) - 1)

    assert problem.startswith("questions.csv, line 2: the image 'cat.png': The file is 0.0 MB,")
    assert "LINEUP_MAX_UPLOAD_MB" in problem


def test_an_unknown_column_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set", {"questions.csv": "image,question,answer,notes\ncat.png,What?,,\n"}
    )

    assert problems_of(folder) == (
        "questions.csv, line 1: unknown column answer and notes. The columns allowed are "
        "image, question, reference, language, tags.",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "image\ncat.png\n",
            "questions.csv, line 1: the header has no question column. Add it.",
        ),
        (
            "image,question,image\n",
            "questions.csv, line 1: the header names the column image more than once.",
        ),
        (
            "image,question,\n",
            "questions.csv, line 1: column 3 of the header has no name. Name it, or remove the "
            "column.",
        ),
        (
            "\n\n",
            "questions.csv is empty. It needs a header row, such as image,question or text, and "
            "one row per item.",
        ),
        (
            "image,question\n\n",
            "questions.csv has no items. Add at least one row under the header.",
        ),
        (
            "image,question\ncat.png,What is it, and why?\n",
            "questions.csv, line 2: 3 fields, but the header has 2 columns. A field holding a "
            "comma, a double quote or a line break must be in double quotes, with inner quotes "
            'doubled ("").',
        ),
        (
            'image,question\ncat.png,"What is it?\n',
            "questions.csv, line 2: the CSV cannot be read from here on (unexpected end of "
            "data). A field holding a comma, a double quote or a line break must be in double "
            'quotes, with inner quotes doubled ("").',
        ),
    ],
    ids=[
        "missing-column",
        "repeated-column",
        "unnamed-column",
        "blank",
        "no-items",
        "extra-field",
        "open-quote",
    ],
)
def test_a_malformed_questions_csv_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    folder = make_folder(tmp_path / "set", {"questions.csv": content, "cat.png": CAT})

    assert problems_of(folder) == (problem,)


def test_a_csv_with_neither_question_nor_text_column_is_refused(tmp_path: Path) -> None:
    path = make_folder(tmp_path, {"study.csv": "image,prompt\ncat.png,What?\n"}) / "study.csv"

    (problem,) = problems_of(path)

    assert problem.startswith("study.csv, line 1: the header has no question column")


def test_a_too_long_question_and_a_nul_are_refused_with_their_lines(tmp_path: Path) -> None:
    long_question = "x" * 20_001
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.csv": f"image,question\ncat.png,{long_question}\ncat.png,a\x00b\n",
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.csv, line 2: The question is 20,001 characters long, over the limit of "
        "20,000. Shorten it.",
        "questions.csv, line 3: The question holds a NUL character (\\0). Remove it.",
    )


def test_a_too_long_reference_answer_is_refused(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.csv": f"image,question,reference\ncat.png,What?,{'y' * 20_001}\n",
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.csv, line 2: The reference answer is 20,001 characters long, over the limit "
        "of 20,000. Shorten it.",
    )


def test_jsonl_lines_that_are_not_objects_of_known_keys_are_refused(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.jsonl": (
                '{"image": "cat.png", "question": "What?"}\n'
                "not json\n"
                '["image", "question"]\n'
                '{"image": "cat.png", "question": "What?", "answer": "A cat"}\n'
                '{"image": "cat.png", "question": 42, "tags": 7}\n'
            ),
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.jsonl, line 2: this is not JSON (Expecting value, column 1). Each line must "
        'be one JSON object, such as {"image": "cat.jpg", "question": "What is this?"}.',
        "questions.jsonl, line 3: this is a JSON list, not an object.",
        "questions.jsonl, line 4: unknown key answer. The keys allowed are image, question, "
        "reference, language, tags.",
        "questions.jsonl, line 5: 'question' must be a string, not a number.",
        "questions.jsonl, line 5: The tags must be one string of tags separated by ; or , or a "
        "list of strings.",
    )


def test_a_file_that_is_not_utf8_is_refused_at_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "set", {"sentences.txt": b"One.\nTwo.\n\xff\n"})

    assert problems_of(folder) == (
        "sentences.txt, line 3: this is not UTF-8 text. Save the file as UTF-8 (in a "
        'spreadsheet: "CSV UTF-8").',
    )


def test_two_set_files_in_one_folder_are_refused_naming_both(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set", {"sentences.txt": "Hi.\n", "Questions.csv": "image,question\n"}
    )

    assert problems_of(folder) == (
        f"There are 2 set files in the folder {folder}: Questions.csv and sentences.txt. A set "
        "is one file: move the others to folders of their own.",
    )


def test_a_folder_without_a_set_file_names_the_files_it_looks_for(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "set", {"cat.png": CAT})

    assert problems_of(folder) == (
        f"There is no set file in the folder {folder}. Add one of questions.csv, "
        "questions.jsonl, sentences.csv or sentences.txt.",
    )


def test_more_items_than_the_limit_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(question_sets, "MAX_ITEMS", 2)
    folder = make_folder(tmp_path / "set", {"sentences.txt": "One.\nTwo.\n\nThree.\n"})

    assert problems_of(folder) == (
        "sentences.txt, line 4: the set has more than 2 items. Split it into smaller sets.",
    )


def test_a_bad_name_is_reported_with_the_rows(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "set", {"sentences.txt": "One.\n" + "x" * 2_001})

    assert problems_of(folder, name="a\tb") == (
        "The set name holds a control character (a tab or a line break?). Remove it.",
        "sentences.txt, line 2: The sentence is 2,001 characters long, over the limit of 2,000. "
        "Shorten it.",
    )


def test_a_zip_with_a_member_leading_out_of_its_folder_is_refused() -> None:
    data = zip_bytes({"sentences.txt": "Hi.\n", "../evil.txt": "x"})

    with pytest.raises(SetError) as caught:
        read_set_bytes("set.zip", data)

    assert caught.value.problems == (
        "The zip holds '../evil.txt', a path that leads out of the folder it unpacks to; "
        "Lineup refuses such zips. Zip the set's folder again.",
    )


def test_a_zip_unpacking_over_the_size_limit_is_refused_before_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(question_sets, "MAX_SET_BYTES", 1024 * 1024)
    data = zip_bytes({"sentences.txt": "Hi.\n", "padding.bin": b"\0" * (1024 * 1024)})
    assert len(data) < 10_000  # a bomb: small packed, big unpacked

    with pytest.raises(SetError) as caught:
        read_set_bytes("bomb.zip", data)

    assert caught.value.problems == (
        "Unpacked, the zip is 1.0 MB, over the limit of 1 MB for a question set. Split it into "
        "smaller sets.",
    )


def test_a_zip_with_too_many_members_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(question_sets, "MAX_ZIP_MEMBERS", 3)
    data = zip_bytes({"sentences.txt": "Hi.\n", **{f"{n}.txt": "x" for n in range(3)}})

    with pytest.raises(SetError) as caught:
        read_set_bytes("many.zip", data)

    assert caught.value.problems == (
        "The zip holds 4 entries, over the limit of 3. Split the set into smaller ones.",
    )


def test_a_zip_with_the_set_in_two_folders_finds_no_set_file() -> None:
    data = zip_bytes({"a/sentences.txt": "Hi.\n", "b/sentences.txt": "Hi.\n"})

    with pytest.raises(SetError) as caught:
        read_set_bytes("two.zip", data)

    assert caught.value.problems == (
        "There is no set file in two.zip (at its root, or in its one top-level folder). Add "
        "one of questions.csv, questions.jsonl, sentences.csv or sentences.txt.",
    )


def test_a_zip_image_that_is_missing_names_the_zip(tmp_path: Path) -> None:
    data = zip_bytes({"set/questions.csv": "image,question\nCat.png,What?\n", "set/cat.png": CAT})

    with pytest.raises(SetError) as caught:
        read_set_bytes("pets.zip", data)

    assert caught.value.problems == (
        "questions.csv, line 2: the image 'Cat.png' is missing: there is no such file in "
        "pets.zip (in its folder set). Check the path and its upper and lower case.",
    )


def test_files_that_are_not_zips_or_set_files_are_refused() -> None:
    with pytest.raises(SetError, match="not a .zip file Lineup can read"):
        read_set_bytes("set.zip", b"PK but not really")
    with pytest.raises(SetError, match="reads question sets from .csv, .jsonl and .txt"):
        read_set_bytes("notes.md", b"# notes")
    with pytest.raises(SetError, match="There is no file or folder at this path"):
        read_set("/nonexistent/question/set")


# The sets that ship with Lineup ---------------------------------------------------------------


def load_script():
    spec = importlib.util.spec_from_file_location("make_samples_for_question_sets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped_sets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample media and sets written by make_samples into a scratch folder."""
    out_dir = tmp_path_factory.mktemp("sample_media")
    load_script().generate(out_dir=out_dir)
    return out_dir / "sets"


def test_the_photo_study_asks_three_questions_about_each_of_five_photos(
    shipped_sets: Path,
) -> None:
    parsed = read_set(shipped_sets / "photo-study")

    assert (parsed.name, parsed.kind, len(parsed.items)) == ("photo-study", "vlm", 15)
    per_photo: dict[str, list[str]] = {}
    for item in parsed.items:
        per_photo.setdefault(item.image_name or "", []).append(item.language or "")
        assert item.image_suffix == ".jpg"
        assert item.tags[0] == "photo"
    assert per_photo == {
        f"photos/{photo}.jpg": ["en", "en", "ru"]
        for photo in ("astronaut", "cat", "coffee", "rocket", "hubble_deep_field")
    }


def test_the_support_screenshots_have_reference_answers_in_the_question_language(
    shipped_sets: Path,
) -> None:
    parsed = read_set(shipped_sets / "support-screenshots")

    assert (parsed.kind, len(parsed.items)) == ("vlm", 16)
    assert len({item.image_name for item in parsed.items}) == 6
    assert all(item.reference for item in parsed.items)
    first = parsed.items[0]
    assert (first.image_name, first.language, first.tags) == (
        "screenshots/payment_failed_ru.png",
        "ru",
        ("screenshot", "payment", "phone"),
    )
    assert first.reference == "Платёж не прошёл: банк отклонил операцию. Код ошибки: PAY-4021."
    assert [item.language for item in parsed.items].count("ru") == 6


def test_the_voice_set_has_six_english_sentences(shipped_sets: Path) -> None:
    parsed = read_set(shipped_sets / "voice-sentences")

    assert (parsed.kind, len(parsed.items)) == ("tts", 6)
    assert {item.language for item in parsed.items} == {"en"}
    assert parsed.items[2].text == "Did you remember to call Dr. Nakamura before Friday?"


def test_each_shipped_set_folder_imports_on_its_own_as_a_zip(shipped_sets: Path) -> None:
    for folder in sorted(shipped_sets.iterdir()):
        files = {
            f"{folder.name}/{path.relative_to(folder).as_posix()}": path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file()
        }
        parsed = read_set_bytes(f"{folder.name}.zip", zip_bytes(files))  # type: ignore[arg-type]
        assert parsed.items == read_set(folder).items, folder.name


def test_the_committed_set_files_are_what_make_samples_writes(shipped_sets: Path) -> None:
    for set_file in sorted(shipped_sets.glob("*/*.*")):
        committed = SAMPLE_DIR / "sets" / set_file.relative_to(shipped_sets)
        assert committed.read_bytes() == set_file.read_bytes(), committed


# Hostile sets: what a set file may not do (issue 15, items 11 to 14) --------------------------


def zip_entries(entries: list[tuple[str | zipfile.ZipInfo, str | bytes]]) -> bytes:
    """A zip with these entries in this order, repeats and all (zipfile only warns of them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
                archive.writestr(name, content)
    return buffer.getvalue()


def test_a_5000_digit_number_in_a_jsonl_is_refused_naming_file_line_and_field(
    tmp_path: Path,
) -> None:
    # Python refuses to turn more than 4,300 digits into an int (sys.get_int_max_str_digits):
    # reading such a number must not be what fails.
    huge = "9" * 5_000
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.jsonl": '{"image": "cat.png", "question": "What?"}\n'
            f'{{"image": "cat.png", "question": {huge}}}\n'
            f'{{"image": "cat.png", "question": "What?", "reference": -{huge}.5e3}}\n'
            f'{{"image": "cat.png", "question": "What?", "tags": [{huge}]}}\n',
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.jsonl, line 2: 'question' must be a string, not a number.",
        "questions.jsonl, line 3: 'reference' must be a string, not a number.",
        "questions.jsonl, line 4: The tags must be one string of tags separated by ; or , or a "
        "list of strings.",
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [("1.5", "a number"), ("NaN", "a number"), ("true", "true or false"), ("[]", "a list")]
    + [('{"a": 1}', "an object")],
)
def test_each_field_of_a_jsonl_names_its_wrong_type(tmp_path: Path, value: str, kind: str) -> None:
    fields = ("image", "question", "reference", "language")
    lines = []
    for field in fields:
        written = {"image": '"cat.png"', "question": '"What?"', field: value}  # JSON texts
        lines.append("{" + ", ".join(f'"{key}": {text}' for key, text in written.items()) + "}")
    folder = make_folder(
        tmp_path / "set", {"questions.jsonl": "\n".join(lines) + "\n", "cat.png": CAT}
    )

    assert problems_of(folder) == tuple(
        f"questions.jsonl, line {line}: {field!r} must be a string, not {kind}."
        for line, field in enumerate(fields, start=1)
    )


def test_a_key_given_twice_in_a_jsonl_line_is_refused(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set",
        {
            "questions.jsonl": '{"image": "cat.png", "question": "What?", "question": "Who?"}\n'
            '{"image": "cat.png", "question": "What?", "tags": [{"a": 1, "a": 2}]}\n',
            "cat.png": CAT,
        },
    )

    assert problems_of(folder) == (
        "questions.jsonl, line 1: the key 'question' is given more than once in one object; "
        "Lineup cannot tell which one is meant. Give each key once.",
        "questions.jsonl, line 2: the key 'a' is given more than once in one object; Lineup "
        "cannot tell which one is meant. Give each key once.",
    )


SECRET = "root:TOPSECRET:0:0:the first line of a file outside the set\n"


@pytest.mark.parametrize("given", ["folder", "file"])
def test_a_set_file_linked_outside_its_folder_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(SECRET)
    folder = make_folder(tmp_path / "set", {"cat.png": CAT})
    (folder / "questions.csv").symlink_to(secret)
    opened: list[Path] = []
    real_read_bytes = Path.read_bytes

    def spy(path: Path) -> bytes:
        opened.append(path)
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", spy)

    problems = problems_of(folder if given == "folder" else folder / "questions.csv")

    assert problems == (
        "questions.csv is a symbolic link to a file outside the set's folder; Lineup does not "
        "follow it. Copy the file itself into the folder.",
    )
    assert "TOPSECRET" not in str(problems) and opened == []


def test_a_set_file_linked_to_a_file_inside_its_folder_is_read(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "set",
        {"versions/v2.csv": "image,question\ncat.png,What is it?\n", "cat.png": CAT},
    )
    (folder / "questions.csv").symlink_to(folder / "versions" / "v2.csv")

    assert [item.text for item in read_set(folder).items] == ["What is it?"]


@pytest.mark.parametrize(
    "entry",
    ["../evil.txt", "/etc/evil.txt", "C:\\evil.txt", "set/../../evil.txt", "\\\\host\\evil.txt"],
)
def test_a_zip_entry_with_an_absolute_path_or_dot_dot_is_refused(entry: str) -> None:
    data = zip_entries([("sentences.txt", "Hi.\n"), (entry, "x")])

    with pytest.raises(SetError) as caught:
        read_set_bytes("set.zip", data)

    assert caught.value.problems == (
        f"The zip holds {entry!r}, a path that leads out of the folder it unpacks to; Lineup "
        "refuses such zips. Zip the set's folder again.",
    )


@pytest.mark.parametrize(
    ("entries", "twice"),
    [
        (
            [
                ("set/questions.csv", "image,question\ncat.png,What?\n"),
                ("set/cat.png", CAT),
                ("set/questions.csv", "image,question\ncat.png,Something else?\n"),
            ],
            "set/questions.csv",
        ),
        (
            [
                ("questions.csv", "image,question\nshots/cat.png,What?\n"),
                ("shots/cat.png", CAT),
                ("shots\\cat.png", DOG),
            ],
            "shots/cat.png",
        ),
        (
            [
                ("questions.csv", "image,question\nshots/cat.png,What?\n"),
                ("shots/cat.png", CAT),
                ("shots/./cat.png", DOG),
            ],
            "shots/cat.png",
        ),
    ],
    ids=["set-file", "backslash", "dot"],
)
def test_a_zip_with_two_entries_of_one_name_is_refused(
    entries: list[tuple[str, str | bytes]], twice: str
) -> None:
    with pytest.raises(SetError) as caught:
        read_set_bytes("set.zip", zip_entries(entries))

    assert caught.value.problems == (
        f"The zip holds {twice!r} twice; Lineup cannot tell which one is meant. Zip the set's "
        "folder again.",
    )


def test_set_files_named_alike_but_for_case_are_refused_as_two_set_files() -> None:
    data = zip_entries([("sentences.txt", "Hi.\n"), ("Sentences.TXT", "Bye.\n")])

    with pytest.raises(SetError) as caught:
        read_set_bytes("set.zip", data)

    assert caught.value.problems == (
        "There are 2 set files in set.zip (at its root, or in its one top-level folder): "
        "sentences.txt and Sentences.TXT. A set is one file: move the others to folders of "
        "their own.",
    )


def test_a_zip_entry_that_is_a_symbolic_link_is_refused() -> None:
    link = zipfile.ZipInfo("cat.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16  # what `zip --symlinks` stores
    data = zip_entries(
        [("questions.csv", "image,question\ncat.png,What?\n"), (link, "/etc/passwd")]
    )

    with pytest.raises(SetError) as caught:
        read_set_bytes("set.zip", data)

    assert caught.value.problems == (
        "The zip holds 'cat.png' as a symbolic link; Lineup reads no links from a zip. Zip "
        "the set's folder again without --symlinks (-y), so that it holds the files themselves.",
    )


def test_a_set_over_the_pixel_limit_is_refused_from_the_headers_before_any_image_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    images = {f"p{n}.png": big_png(1000, 1000, n) for n in range(5)}  # 1 megapixel each
    csv_text = "image,question\n" + "".join(f"{name},What?\n" for name in images)
    data = zip_bytes({"questions.csv": csv_text, **images})
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda image: decoded.append(image) or real_load(image)
    )

    with pytest.raises(SetError) as caught:
        read_set_bytes("big.zip", data, max_set_pixels=3_500_000)

    assert caught.value.problems == (
        "questions.csv, line 5: with this item's image, the set's images add up to 4 "
        "megapixels, over the limit of 3.5 megapixels for one set: decoding them all would "
        "take too long. Split the set into smaller ones or use smaller images, or raise the "
        "limit with the LINEUP_MAX_SET_MEGAPIXELS environment variable.",
    )
    assert decoded == []

    parsed = read_set_bytes("big.zip", data, max_set_pixels=5_000_000)  # at the limit: read
    assert len(parsed.items) == 5 and decoded  # and the spy sees a decode when there is one

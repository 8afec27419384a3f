"""Question sets read from a folder, a .zip or one file, and checked whole before any is stored.

A question set is a list of items for a study. A VLM set's item is an image and a question,
with an optional reference answer, language and tags. A voice set's item is a sentence, with an
optional language and tags.

Where a set comes from
  * A folder holding exactly one set file: ``questions.csv`` or ``questions.jsonl`` (a VLM
    set), ``sentences.csv`` or ``sentences.txt`` (a voice set). Upper/lower case in these names
    does not matter. Two set files in one folder are an error naming both.
  * A ``.zip`` of such a folder, with the set file at the zip's root or inside its one
    top-level folder (what "compress this folder" makes). ``__MACOSX/`` and ``.DS_Store``
    entries are ignored. The zip is read in memory, never unpacked to disk. Refused: an entry
    whose path is absolute or holds ``..``, a name given to two entries (once ``\\`` is read as
    ``/`` and ``.`` parts are dropped; set files named alike but for case are two set files),
    and an entry stored as a symbolic link.
  * The path of a set file itself; its images are then relative to the file's folder. A file
    with another name is read by its suffix: ``.csv`` (a ``question`` column makes a VLM set, a
    ``text`` column a voice set), ``.jsonl`` (VLM), ``.txt`` (voice).
  * A set file may be a symbolic link to a file inside its folder, never to one outside it:
    such a link is refused before anything is read.
  * An upload (read_set_bytes): a ``.zip`` as above, or a lone ``.csv`` or ``.txt`` voice set.
    A lone VLM file is refused, since its images do not come with it: upload a zip of the folder.

The set files (UTF-8, a leading byte-order mark accepted)
  * questions.csv: a header row, then one item per row. Columns, in any order and any case:
    ``image`` and ``question`` (required), ``reference``, ``language``, ``tags``; any other
    column is an error. Standard CSV quoting: a field holding a comma, a double quote or a line
    break is put in double quotes, with inner quotes doubled. A row with fewer fields than the
    header leaves its last columns empty; a row with more is an error. Blank rows (every field
    empty) are skipped.
  * sentences.csv: the same, with the columns ``text`` (required), ``language``, ``tags``.
  * questions.jsonl: one JSON object per line, with the keys of questions.csv, each given
    once; blank lines are skipped. ``image`` and ``question`` are strings; ``reference`` and
    ``language`` strings or null; ``tags`` a list of strings or one string. No field is a
    number (a number of any length is read, then refused by its field).
  * sentences.txt: one sentence per line; blank lines are skipped.

The fields
  * image: the path of a PNG, JPEG, WebP or GIF file relative to the set file's folder, with
    ``/`` (or ``\\``) between folders. Absolute paths, ``..`` and symbolic links that lead out
    of the folder are refused. Every image passes the checks of an upload
    (lineup.media.validate_image), with the same size and megapixel limits.
  * question / text: the checks of a question or sentence typed in the app (lineup.limits).
  * reference: the expected answer, at most MAX_REFERENCE_CHARS (20,000) characters, no NUL;
    empty means none.
  * language: a tag such as ``en``, ``ru`` or ``pt-BR`` (2-3 letters, then optional parts of
    1-8 letters or digits after hyphens); kept as ``pt-BR`` however it is cased. Empty: unknown.
  * tags: one string split on ``;`` and ``,`` (so a tag holds neither); each tag stripped, empty
    ones and repeats dropped, order kept; at most MAX_TAGS (32) tags of MAX_TAG_CHARS (64)
    characters.

The set's name is the one given, else the folder's name, the zip's or file's name without its
suffix (for a file named questions.* or sentences.*, its folder's name): 1-128 characters
once stripped, with no control characters.

Limits and errors: a set holds at most MAX_ITEMS (10,000) items; a set file is at most
MAX_SET_FILE_BYTES (64 MiB); a zip holds at most MAX_ZIP_MEMBERS (20,000) entries and unpacks to
at most MAX_SET_BYTES (1 GiB), which also bounds the images of a set read from a folder. The
images' pixels add up to at most LINEUP_MAX_SET_MEGAPIXELS (10,000 megapixels), counted from
their headers before any image is decoded (decoding takes time by the pixel). Every
problem found is reported with the file's name and its line (a row's first line when a quoted
field spans lines; the CSV header is line 1), all of them in one SetError, so nothing of a bad set
is stored. A set with no items is an error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, NoReturn, Protocol, TypeVar

from lineup.core import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageHeader,
    InputError,
    MediaError,
    check_question,
    check_sentence,
    check_text,
    image_header,
    read_image_file,
    too_big,
    validate_image,
)
from lineup.store import LANGUAGE_MAX_CHARS, SET_NAME_MAX_CHARS

SetKind = Literal["vlm", "tts"]

QUESTIONS_CSV = "questions.csv"
QUESTIONS_JSONL = "questions.jsonl"
SENTENCES_CSV = "sentences.csv"
SENTENCES_TXT = "sentences.txt"
SET_FILES: dict[str, SetKind] = {
    QUESTIONS_CSV: "vlm",
    QUESTIONS_JSONL: "vlm",
    SENTENCES_CSV: "tts",
    SENTENCES_TXT: "tts",
}
QUESTION_COLUMNS = ("image", "question", "reference", "language", "tags")
SENTENCE_COLUMNS = ("text", "language", "tags")
_REQUIRED_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": ("image", "question"), "tts": ("text",)}
_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": QUESTION_COLUMNS, "tts": SENTENCE_COLUMNS}

_MIB = 1024 * 1024
MAX_ITEMS = 10_000
# As long as a question: a model's expected answer to one.
MAX_REFERENCE_CHARS = 20_000
MAX_NAME_CHARS = SET_NAME_MAX_CHARS  # the column that holds it
MAX_LANGUAGE_CHARS = LANGUAGE_MAX_CHARS  # the length BCP 47 asks every reader to handle
MAX_TAGS = 32
MAX_TAG_CHARS = 64
# 10,000 items of a 20,000-character question and reference each would be 400 MB; real sets
# are far smaller, and a bigger file is a wrong file.
MAX_SET_FILE_BYTES = 64 * _MIB
# A set's images are held in memory until the store writes them: bound them, and a zip's
# unpacked size (zip bombs), by one figure.
MAX_SET_BYTES = 1024 * _MIB
MAX_ZIP_MEMBERS = 20_000
# Every image of a set is decoded once as it is imported, and decoding takes time by the pixel
# (12-13 ms a megapixel here): a few KB of PNG can claim 40 megapixels. The images' pixels are
# added up from their headers before any is decoded (LINEUP_MAX_SET_MEGAPIXELS).
DEFAULT_MAX_SET_PIXELS = 10_000 * 1_000_000
MAX_PROBLEMS_SHOWN = 20

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_TAG_SEPARATORS = re.compile(r"[;,]")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
_QUOTING_HINT = (
    "A field holding a comma, a double quote or a line break must be in double quotes, "
    'with inner quotes doubled ("").'
)

_T = TypeVar("_T")


class SetError(InputError):
    """A question set Lineup refuses as a whole; `problems` lists every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(_summary(source, self.problems))


@dataclass(frozen=True)
class SetItem:
    line: int  # where it came from: the line of the set file (a CSV row's first line)
    text: str  # the question (vlm) or sentence (tts)
    image: bytes | None = field(repr=False)  # the validated image's bytes (vlm), None for tts
    image_name: str | None  # the image's path as written in the set file
    reference: str | None
    language: str | None
    tags: tuple[str, ...]
    image_suffix: str | None = None  # ".png", ".jpg", ...: the media store names files by it


@dataclass(frozen=True)
class ParsedSet:
    name: str
    kind: SetKind
    items: tuple[SetItem, ...]
    source: str  # the file it was read from, for messages


def read_set(
    path: str | Path,
    *,
    name: str | None = None,
    max_image_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_set_pixels: int = DEFAULT_MAX_SET_PIXELS,
) -> ParsedSet:
    """The set in a folder, a .zip, or a set file (see the module's docstring for the format).

    Raises SetError listing every problem found; nothing is returned of a bad set.
    """
    path = Path(path)
    limits = _ImageLimits(max_image_bytes, max_pixels, max_set_pixels)
    if path.is_dir():
        found = _set_files_in(entry.name for entry in path.iterdir() if entry.is_file())
        set_file = path / _one_set_file(found, str(path), f"the folder {path}")
        return _parse(
            set_file.name,
            _read_set_file(set_file, path),
            _FolderFiles(path),
            source=str(set_file),
            name=name if name is not None else _folder_name(path),
            limits=limits,
        )
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise SetError(str(path), ["There is no file at this path."]) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise SetError(str(path), [_not_a_zip(exc)]) from None
        with archive:
            return _read_zip(
                archive, str(path), name=path.stem if name is None else name, limits=limits
            )
    if path.is_file():
        default_name = path.stem
        if path.name.lower() in SET_FILES:
            default_name = _folder_name(path.parent)
        return _parse(
            path.name,
            _read_set_file(path, path.parent),
            _FolderFiles(path.parent),
            source=str(path),
            name=name if name is not None else default_name,
            limits=limits,
        )
    raise SetError(str(path), ["There is no file or folder at this path."])


def read_set_bytes(
    filename: str,
    data: bytes,
    *,
    name: str | None = None,
    max_image_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_set_pixels: int = DEFAULT_MAX_SET_PIXELS,
) -> ParsedSet:
    """The set in an uploaded .zip, or in a lone .csv or .txt voice set (see the docstring).

    A lone questions.csv or questions.jsonl is refused: its images do not come with it.
    """
    file_name = PurePosixPath(filename.replace("\\", "/")).name or "upload"
    limits = _ImageLimits(max_image_bytes, max_pixels, max_set_pixels)
    stem = PurePosixPath(file_name).stem
    if file_name.lower().endswith(".zip"):
        if len(data) > MAX_SET_BYTES:
            raise SetError(file_name, [_too_large("The zip", len(data), MAX_SET_BYTES)])
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise SetError(file_name, [_not_a_zip(exc)]) from None
        with archive:
            return _read_zip(archive, file_name, name=stem if name is None else name, limits=limits)
    if len(data) > MAX_SET_FILE_BYTES:
        raise SetError(file_name, [_too_large("The file", len(data), MAX_SET_FILE_BYTES)])
    return _parse(
        file_name,
        data,
        None,
        source=file_name,
        name=name if name is not None else stem,
        limits=limits,
    )


def check_set_name(name: str) -> str:
    """The set's name, stripped; InputError if it is empty, too long or holds control characters."""
    stripped = check_text(name, what="set name", max_chars=MAX_NAME_CHARS, hint="give it a name")
    if any(unicodedata.category(char) == "Cc" for char in stripped):
        raise InputError(
            "The set name holds a control character (a tab or a line break?). Remove it."
        )
    return stripped


def check_reference(text: str) -> str | None:
    """A reference answer, stripped, or None when empty; InputError if too long or not text."""
    if not text.strip():
        return None
    return check_text(
        text, what="reference answer", max_chars=MAX_REFERENCE_CHARS, hint="leave it out"
    )


def check_language(tag: str) -> str | None:
    """A language tag in its usual case (`en`, `ru`, `pt-BR`), or None when empty."""
    stripped = tag.strip()
    if not stripped:
        return None
    if len(stripped) > MAX_LANGUAGE_CHARS or not _LANGUAGE_TAG.fullmatch(stripped):
        shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
        raise InputError(
            f"{shown!r} is not a language tag. Write a code such as en, ru or pt-BR, "
            "or leave the language empty."
        )
    primary, *subtags = stripped.split("-")
    return "-".join([primary.lower(), *(_subtag_case(subtag) for subtag in subtags)])


def parse_tags(value: object) -> tuple[str, ...]:
    """Tags from one string split on `;` and `,` (or a list of such strings): stripped, no
    empties, no repeats, in order. InputError for anything else, or too many or too long tags.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        pieces = [value]
    elif isinstance(value, list) and all(isinstance(piece, str) for piece in value):
        pieces = value
    else:
        raise InputError(
            "The tags must be one string of tags separated by ; or , or a list of strings."
        )
    tags: dict[str, None] = {}  # an ordered set
    for piece in pieces:
        for tag in _TAG_SEPARATORS.split(piece):
            tag = tag.strip()
            if not tag:
                continue
            if len(tag) > MAX_TAG_CHARS:
                raise InputError(
                    f"The tag {tag[:20]!r}... is {len(tag)} characters long, over the limit of "
                    f"{MAX_TAG_CHARS}. Shorten it."
                )
            if any(unicodedata.category(char) in ("Cc", "Cs") for char in tag):
                raise InputError(f"The tag {tag!r} holds a control character. Remove it.")
            tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise InputError(f"There are {len(tags)} tags, over the limit of {MAX_TAGS}.")
    return tuple(tags)


def _subtag_case(subtag: str) -> str:
    if len(subtag) == 2 and subtag.isalpha():
        return subtag.upper()  # a region: pt-BR
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()  # a script: zh-Hant
    return subtag.lower()


# Reading ------------------------------------------------------------------------------------


class _Problem(Exception):
    """One problem with a set, worded for the user; collected into the SetError."""


class _Report:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def fail(self, problem: str) -> NoReturn:
        """Stop reading: the set cannot be read further, or no further reading is worth it."""
        self.problems.append(problem)
        raise SetError(self.source, self.problems)

    def checked(self, where: str, check: Callable[[], _T]) -> _T | None:
        try:
            return check()
        except (InputError, MediaError, _Problem) as exc:
            self.add(f"{where}: {exc}")
            return None


@dataclass(frozen=True)
class _Row:
    line: int
    fields: Mapping[str, object]


@dataclass(frozen=True)
class _ImageLimits:
    max_bytes: int
    max_pixels: int  # of one image
    max_set_pixels: int  # of all the set's images together


class _Files(Protocol):
    def read(self, relative: str, max_bytes: int) -> bytes:
        """The bytes of the file at `relative` ('/'-separated, no '..'); _Problem if there is
        no such file or it may not be read."""
        ...


class _FolderFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._real_folder = folder.resolve()

    def read(self, relative: str, max_bytes: int) -> bytes:
        try:
            real_path = (self.folder / relative).resolve(strict=True)
        except FileNotFoundError:
            raise _Problem(
                f"the image {relative!r} is missing: there is no such file in {self.folder}. "
                "Check the path and its upper and lower case."
            ) from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
            raise _Problem(f"the image {relative!r} cannot be opened ({exc}).") from None
        if not real_path.is_relative_to(self._real_folder):
            raise _Problem(
                f"the image {relative!r} is a symbolic link to a file outside the set's folder. "
                "Copy the image itself into the folder."
            )
        try:
            return read_image_file(real_path, max_bytes=max_bytes)
        except MediaError as exc:
            raise _Problem(f"the image {relative!r}: {exc}") from None


class _ZipFiles:
    def __init__(
        self,
        archive: zipfile.ZipFile,
        base: str,
        members: Mapping[str, zipfile.ZipInfo],
        label: str,
    ) -> None:
        self.archive = archive
        self.base = base
        self.members = members
        self.label = label

    def read(self, relative: str, max_bytes: int) -> bytes:
        info = self.members.get(self.base + relative)
        if info is None:
            inside = f" (in its folder {self.base.rstrip('/')})" if self.base else ""
            raise _Problem(
                f"the image {relative!r} is missing: there is no such file in {self.label}"
                f"{inside}. Check the path and its upper and lower case."
            )
        if info.file_size > max_bytes:
            raise _Problem(f"the image {relative!r}: {too_big(info.file_size, max_bytes)}")
        return _read_member(self.archive, info, max_bytes, what=f"the image {relative!r}")


class _ImageReader:
    """Reads each image of a set once, however many items name it: first every image's bytes
    and header (`read_headers`), to bound the set's bytes and pixels before any image is
    decoded, then each image decoded and validated as an item uses it (`read`)."""

    def __init__(self, files: _Files, limits: _ImageLimits, report: _Report) -> None:
        self.files = files
        self.limits = limits
        self.report = report
        self._headers: dict[str, tuple[bytes, ImageHeader] | _Problem] = {}
        self._images: dict[str, tuple[bytes, str] | _Problem] = {}

    def read_headers(self, rows: Sequence[_Row], file_name: str) -> None:
        """Read the bytes and the header of every image the rows name; refuse the set (its
        SetError) as soon as they add up to over MAX_SET_BYTES or the set's pixel limit. A
        problem of one image is kept for its items to report."""
        total_bytes = total_pixels = 0
        for row in rows:
            written = row.fields.get("image")
            if not isinstance(written, str):
                continue  # its item reports it
            try:
                relative = _image_path(written)
            except _Problem:
                continue  # its item reports it
            if relative in self._headers:
                continue
            found = self._header(relative)
            self._headers[relative] = found
            if isinstance(found, _Problem):
                continue
            total_bytes += len(found[0])
            total_pixels += found[1].pixels
            if total_bytes > MAX_SET_BYTES:
                self.report.fail(
                    f"The set's images add up to over {MAX_SET_BYTES / _MIB:,.0f} MB. "
                    "Split it into smaller sets."
                )
            if total_pixels > self.limits.max_set_pixels:
                self.report.fail(
                    f"{file_name}, line {row.line}: with this item's image, the set's images add "
                    f"up to {_megapixels(total_pixels)} megapixels, over the limit of "
                    f"{_megapixels(self.limits.max_set_pixels)} megapixels for one set: "
                    "decoding them all would take too long. Split the set into smaller ones or "
                    "use smaller images, or raise the limit with the LINEUP_MAX_SET_MEGAPIXELS "
                    "environment variable."
                )

    def read(self, written: str) -> tuple[bytes, str]:
        """The validated bytes and suffix of the image at `written`; _Problem if unusable."""
        relative = _image_path(written)
        image = self._images.get(relative)
        if image is None:
            found = self._headers.get(relative) or self._header(relative)
            if isinstance(found, _Problem):
                image = found
            else:
                try:
                    validated = validate_image(
                        found[0], max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_pixels
                    )
                    image = (validated.data, validated.suffix)
                except MediaError as exc:
                    image = _Problem(f"the image {relative!r}: {exc}")
            self._images[relative] = image
            self._headers.pop(relative, None)  # its bytes are held once, by the image
        if isinstance(image, _Problem):
            raise image
        return image

    def _header(self, relative: str) -> tuple[bytes, ImageHeader] | _Problem:
        try:
            data = self.files.read(relative, self.limits.max_bytes)
            header = image_header(
                data, max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_pixels
            )
        except MediaError as exc:
            return _Problem(f"the image {relative!r}: {exc}")
        except _Problem as exc:
            return exc
        return data, header


def _image_path(written: str) -> str:
    """The image's path inside the set's folder, '/'-separated; _Problem if it may not be used."""
    path = written.strip().replace("\\", "/")
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        raise _Problem(
            f"the image path {written!r} is absolute. Give it relative to the folder that holds "
            "the set file, such as photos/cat.jpg."
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _Problem(
            f"the image path {written!r} leads out of the set's folder (..). Copy the image "
            "into the folder and give its path there."
        )
    if not parts:
        raise _Problem(
            "no image: give the path of an image file, relative to the folder that holds the "
            "set file."
        )
    return "/".join(parts)


def _parse(
    file_name: str,
    data: bytes,
    files: _Files | None,
    *,
    source: str,
    name: str,
    limits: _ImageLimits,
) -> ParsedSet:
    """Read one set file's bytes into a ParsedSet; `files` holds its images (None: an upload)."""
    report = _Report(source)
    try:
        set_name = check_set_name(name)
    except InputError as exc:
        report.add(str(exc))  # reported with the rows' problems, so one attempt shows them all
        set_name = ""
    text = _decode(data, file_name, report)
    suffix = PurePosixPath(file_name).suffix.lower()
    kind: SetKind
    if suffix == ".csv":
        kind, rows = _csv_rows(text, file_name, SET_FILES.get(file_name.lower()), report)
    elif suffix == ".jsonl":
        kind, rows = "vlm", _jsonl_rows(text, file_name, report)
    elif suffix == ".txt":
        kind, rows = "tts", _txt_rows(text)
    else:
        report.fail(
            f"Lineup reads question sets from .csv, .jsonl and .txt files, or a folder or .zip "
            f"holding one of {_names(SET_FILES)}; {file_name} is none of these."
        )
    if len(rows) > MAX_ITEMS:
        report.fail(
            f"{file_name}, line {rows[MAX_ITEMS].line}: the set has more than {MAX_ITEMS:,} "
            "items. Split it into smaller sets."
        )
    if kind == "vlm" and files is None:
        raise SetError(
            source,
            [
                f"{file_name} is a set of questions about images, and the images do not come "
                f"with it. Upload a .zip of the folder that holds {file_name} and its images."
            ],
        )
    if not rows and not report.problems:
        report.fail(f"{file_name} has no items. Add at least one {_ITEM_UNIT[suffix]}.")

    items: list[SetItem] = []
    # A VLM set without files was refused above.
    images = _ImageReader(files, limits, report) if kind == "vlm" and files is not None else None
    if images is not None:
        images.read_headers(rows, file_name)
    for row in rows:
        where = f"{file_name}, line {row.line}"
        if images is not None:
            item = _vlm_item(row, where, images, report)
        else:
            item = _tts_item(row, where, report)
        if item is not None:
            items.append(item)
    if report.problems:
        raise SetError(source, report.problems)
    return ParsedSet(name=set_name, kind=kind, items=tuple(items), source=source)


_ITEM_UNIT = {
    ".csv": "row under the header",
    ".jsonl": "JSON object per line",
    ".txt": "sentence per line",
}


def _vlm_item(row: _Row, where: str, images: _ImageReader, report: _Report) -> SetItem | None:
    found_before = len(report.problems)
    written = report.checked(where, lambda: _text(row, "image"))
    image = report.checked(where, lambda: images.read(written)) if written is not None else None
    question = report.checked(where, lambda: check_question(_text(row, "question")))
    reference = report.checked(where, lambda: check_reference(_text(row, "reference")))
    language = report.checked(where, lambda: check_language(_text(row, "language")))
    tags = report.checked(where, lambda: parse_tags(row.fields.get("tags")))
    if len(report.problems) > found_before or image is None or question is None:
        return None
    return SetItem(
        line=row.line,
        text=question,
        image=image[0],
        image_name=written.strip() if written else None,
        reference=reference,
        language=language,
        tags=tags or (),
        image_suffix=image[1],
    )


def _tts_item(row: _Row, where: str, report: _Report) -> SetItem | None:
    found_before = len(report.problems)
    sentence = report.checked(where, lambda: check_sentence(_text(row, "text")))
    language = report.checked(where, lambda: check_language(_text(row, "language")))
    tags = report.checked(where, lambda: parse_tags(row.fields.get("tags")))
    if len(report.problems) > found_before or sentence is None:
        return None
    return SetItem(
        line=row.line,
        text=sentence,
        image=None,
        image_name=None,
        reference=None,
        language=language,
        tags=tags or (),
    )


def _text(row: _Row, key: str) -> str:
    value = row.fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Problem(f"{key!r} must be a string, not {_json_kind(value)}.")
    return value


def _decode(data: bytes, file_name: str, report: _Report) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.fail(
            f"{file_name}, line {line}: this is not UTF-8 text. Save the file as UTF-8 "
            '(in a spreadsheet: "CSV UTF-8").'
        )


def _csv_rows(
    text: str, file_name: str, kind: SetKind | None, report: _Report
) -> tuple[SetKind, list[_Row]]:
    """The rows of a CSV set file, each with the line it starts on; `kind` None: from the header."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[_Row] = []
    end_line = 0
    while True:
        start_line = end_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add(
                f"{file_name}, line {start_line}: the CSV cannot be read from here on ({exc}). "
                + _QUOTING_HINT
            )
            break
        end_line = reader.line_num
        if not any(value.strip() for value in fields):
            continue
        if header is None:
            header = [value.strip().lower() for value in fields]
            kind = _check_header(header, kind, f"{file_name}, line {start_line}", report)
            continue
        if len(fields) > len(header):
            report.add(
                f"{file_name}, line {start_line}: {len(fields)} fields, but the header has "
                f"{len(header)} columns. " + _QUOTING_HINT
            )
            continue
        rows.append(_Row(start_line, dict(zip(header, fields, strict=False))))
    if header is None or kind is None:
        report.fail(
            f"{file_name} is empty. It needs a header row, such as image,question or text, "
            "and one row per item."
        )
    return kind, rows


def _check_header(header: list[str], kind: SetKind | None, where: str, report: _Report) -> SetKind:
    if "" in header:
        report.fail(
            f"{where}: column {header.index('') + 1} of the header has no name. Name it, or "
            "remove the column."
        )
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        report.fail(f"{where}: the header names the column {_names(repeated)} more than once.")
    if kind is None:
        if "question" in header:
            kind = "vlm"
        elif "text" in header:
            kind = "tts"
        else:
            report.fail(
                f"{where}: the header has no question column (a set of questions about images: "
                f"{', '.join(QUESTION_COLUMNS)}) and no text column (sentences for voices: "
                f"{', '.join(SENTENCE_COLUMNS)})."
            )
    allowed = _COLUMNS[kind]
    unknown = [column for column in header if column not in allowed]
    if unknown:
        report.fail(
            f"{where}: unknown column {_names(unknown)}. The columns allowed are "
            f"{', '.join(allowed)}."
        )
    missing = [column for column in _REQUIRED_COLUMNS[kind] if column not in header]
    if missing:
        report.fail(f"{where}: the header has no {_names(missing)} column. Add it.")
    return kind


def _jsonl_rows(text: str, file_name: str, report: _Report) -> list[_Row]:
    rows: list[_Row] = []
    for line_number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        where = f"{file_name}, line {line_number}"
        try:
            # No field of a set is a number, so every number is read as a float, which any
            # count of digits makes (int() refuses over 4,300: sys.get_int_max_str_digits),
            # then refused by its field's check, which names the field.
            value = json.loads(line, parse_int=float, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            report.add(
                f"{where}: this is not JSON ({exc.msg}, column {exc.colno}). Each line must be "
                'one JSON object, such as {"image": "cat.jpg", "question": "What is this?"}.'
            )
            continue
        except RecursionError:
            report.add(f"{where}: the JSON is nested too deeply. Each line is one flat object.")
            continue
        except _Problem as exc:
            report.add(f"{where}: {exc}")
            continue
        if not isinstance(value, dict):
            noun = "number" if isinstance(value, float) else type(value).__name__
            report.add(f"{where}: this is a JSON {noun}, not an object.")
            continue
        unknown = [key for key in value if key not in QUESTION_COLUMNS]
        if unknown:
            report.add(
                f"{where}: unknown key {_names(unknown)}. The keys allowed are "
                f"{', '.join(QUESTION_COLUMNS)}."
            )
            continue
        rows.append(_Row(line_number, value))
    return rows


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object; _Problem when it gives a key twice (json.loads would keep the last)."""
    repeated = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
    if repeated:
        raise _Problem(
            f"the key {_names(repr(key) for key in repeated)} is given more than once in one "
            "object; Lineup cannot tell which one is meant. Give each key once."
        )
    return dict(pairs)


def _json_kind(value: object) -> str:
    """What a JSON value is, in words: `a number`, `a list`, ..."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _txt_rows(text: str) -> list[_Row]:
    return [
        _Row(line_number, {"text": line})
        for line_number, line in enumerate(io.StringIO(text, newline=None), start=1)
        if line.strip()
    ]


def _read_set_file(path: Path, folder: Path) -> bytes:
    """The bytes of the set file at `path`, in the set's `folder`. A symbolic link that leads
    out of the folder is refused before anything is read: the file could be any file of this
    user's, and a problem's message quotes its lines."""
    try:
        real_path = path.resolve(strict=True)
        if not real_path.is_relative_to(folder.resolve()):
            raise SetError(
                str(path),
                [
                    f"{path.name} is a symbolic link to a file outside the set's folder; Lineup "
                    "does not follow it. Copy the file itself into the folder."
                ],
            )
        size = real_path.stat().st_size
        if size > MAX_SET_FILE_BYTES:
            raise SetError(str(path), [_too_large("The file", size, MAX_SET_FILE_BYTES)])
        with real_path.open("rb") as file:
            data = file.read(MAX_SET_FILE_BYTES + 1)  # it may have grown since stat()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SetError(str(path), [f"The file cannot be read ({reason})."]) from None
    if len(data) > MAX_SET_FILE_BYTES:
        raise SetError(str(path), [_too_large("The file", len(data), MAX_SET_FILE_BYTES)])
    return data


def _read_zip(
    archive: zipfile.ZipFile, label: str, *, name: str, limits: _ImageLimits
) -> ParsedSet:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SetError(
            label,
            [
                f"The zip holds {len(infos):,} entries, over the limit of {MAX_ZIP_MEMBERS:,}. "
                "Split the set into smaller ones."
            ],
        )
    unpacked_bytes = sum(info.file_size for info in infos)
    if unpacked_bytes > MAX_SET_BYTES:
        raise SetError(label, [_too_large("Unpacked, the zip", unpacked_bytes, MAX_SET_BYTES)])
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        written = info.filename.replace("\\", "/")
        parts = [part for part in written.split("/") if part not in ("", ".")]
        if written.startswith("/") or _WINDOWS_DRIVE.match(written) or ".." in parts:
            raise SetError(
                label,
                [
                    f"The zip holds {info.filename!r}, a path that leads out of the folder it "
                    "unpacks to; Lineup refuses such zips. Zip the set's folder again."
                ],
            )
        if written.endswith("/") or not parts or parts[0] == "__MACOSX" or parts[-1] == ".DS_Store":
            continue
        # The entry's name as an image path names it: `/`-separated, without `.` or `//`.
        member = "/".join(parts)
        if member in members:
            raise SetError(
                label,
                [
                    f"The zip holds {member!r} twice; Lineup cannot tell which one is meant. "
                    "Zip the set's folder again."
                ],
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SetError(
                label,
                [
                    f"The zip holds {member!r} as a symbolic link; Lineup reads no links from a "
                    "zip. Zip the set's folder again without --symlinks (-y), so that it holds "
                    "the files themselves."
                ],
            )
        members[member] = info
    base = _zip_base(members)
    found = _set_files_in(member[len(base) :] for member in members if member.startswith(base))
    if base:
        where = f"{label}, in its folder {base.rstrip('/')}"
    else:
        where = f"{label} (at its root, or in its one top-level folder)"
    set_file = base + _one_set_file(found, label, where)
    info = members[set_file]
    source = f"{set_file} in {label}"
    if info.file_size > MAX_SET_FILE_BYTES:
        raise SetError(source, [_too_large("The file", info.file_size, MAX_SET_FILE_BYTES)])
    try:
        data = _read_member(archive, info, MAX_SET_FILE_BYTES, what=set_file)
    except _Problem as exc:
        raise SetError(source, [str(exc)]) from None
    return _parse(
        PurePosixPath(set_file).name,
        data,
        _ZipFiles(archive, base, members, label),
        source=source,
        name=name,
        limits=limits,
    )


def _zip_base(members: Iterable[str]) -> str:
    """Where the set file is looked for: '' (the zip's root) or its one top-level folder."""
    names = list(members)
    if any(name.lower() in SET_FILES for name in names):
        return ""
    top_folders = {name.split("/", 1)[0] for name in names}
    if len(top_folders) == 1 and all("/" in name for name in names):
        return top_folders.pop() + "/"
    return ""


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int, what: str
) -> bytes:
    try:
        with archive.open(info) as member:
            # file_size was checked, and zipfile stops there; never read past the limit anyway.
            return member.read(max_bytes + 1)
    except (
        zipfile.BadZipFile,
        RuntimeError,
        NotImplementedError,
        EOFError,
        OSError,
        zlib.error,
    ) as exc:
        # RuntimeError: a password-protected entry; NotImplementedError: an unknown compression.
        raise _Problem(
            f"{what} cannot be read from the zip ({exc}). Zip the folder again, without a password."
        ) from None


def _set_files_in(names: Iterable[str]) -> list[str]:
    return sorted(
        (name for name in names if name.lower() in SET_FILES),
        key=lambda name: list(SET_FILES).index(name.lower()),
    )


def _one_set_file(found: list[str], source: str, where: str) -> str:
    if not found:
        raise SetError(
            source,
            [f"There is no set file in {where}. Add one of {_names(SET_FILES, 'or')}."],
        )
    if len(found) > 1:
        raise SetError(
            source,
            [
                f"There are {len(found)} set files in {where}: {_names(found)}. A set is one "
                "file: move the others to folders of their own."
            ],
        )
    return found[0]


def _folder_name(folder: Path) -> str:
    return Path(os.path.abspath(folder)).name


def _names(names: Iterable[str], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    listed = list(names)
    if len(listed) == 1:
        return listed[0]
    return ", ".join(listed[:-1]) + f" {last} " + listed[-1]


def _megapixels(pixels: int) -> str:
    """Megapixels as a person writes them: 10,040, 3.5, 0.0036."""
    megapixels = pixels / 1_000_000
    return f"{megapixels:,.0f}" if megapixels >= 100 else f"{megapixels:.3g}"


def _too_large(what: str, size_bytes: int, max_bytes: int) -> str:
    return (
        f"{what} is {size_bytes / _MIB:,.1f} MB, over the limit of {max_bytes / _MIB:,.0f} MB "
        "for a question set. Split it into smaller sets."
    )


def _not_a_zip(exc: Exception) -> str:
    return f"This is not a .zip file Lineup can read ({exc}). Zip the set's folder again."


def _summary(source: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"Nothing was imported from {source}: {problems[0]}"
    shown = problems[:MAX_PROBLEMS_SHOWN]
    lines = [f"Nothing was imported from {source}; {len(problems)} problems:"]
    lines += [f"- {problem}" for problem in shown]
    if len(problems) > len(shown):
        lines.append(f"- and {len(problems) - len(shown)} more.")
    return "\n".join(lines)

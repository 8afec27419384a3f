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
    (lineup.core.validate_image), with the same size and megapixel limits.
  * question / text: the checks of a question or sentence typed in the app (lineup.core).
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

import io
import zipfile
from pathlib import Path, PurePosixPath

from lineup.core import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, InputError, _, grouped
from lineup.sets.files import (
    TOO_LARGE_FILE,
    TOO_LARGE_UNPACKED,
    TOO_LARGE_ZIP,
    Files,
    FolderFiles,
    ImageLimits,
    ImageReader,
    ZipFiles,
    folder_name,
    not_a_zip,
    one_set_file,
    read_member,
    set_files_in,
    too_large,
    zip_base,
    zip_members,
)
from lineup.sets.items import (
    DEFAULT_MAX_SET_PIXELS,
    MAX_ITEMS,
    MAX_SET_BYTES,
    MAX_SET_FILE_BYTES,
    MAX_ZIP_MEMBERS,
    NO_ITEMS,
    SET_FILES,
    ParsedSet,
    Problem,
    Report,
    SetError,
    SetItem,
    SetKind,
    at,
    check_set_name,
    line_of,
    names,
    tts_item,
    vlm_item,
)
from lineup.sets.rows import csv_rows, decode, jsonl_rows, txt_rows


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
    limits = ImageLimits(max_image_bytes, max_pixels, max_set_pixels)
    if path.is_dir():
        found = set_files_in(entry.name for entry in path.iterdir() if entry.is_file())
        set_file = path / one_set_file(
            found, str(path), _("the folder {folder}").format(folder=path)
        )
        return _parse(
            set_file.name,
            _read_set_file(set_file, path),
            FolderFiles(path),
            source=str(set_file),
            name=name if name is not None else folder_name(path),
            limits=limits,
        )
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise SetError(str(path), [_("There is no file at this path.")]) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise SetError(str(path), [not_a_zip(exc)]) from None
        with archive:
            return _read_zip(
                archive, str(path), name=path.stem if name is None else name, limits=limits
            )
    if path.is_file():
        default_name = path.stem
        if path.name.lower() in SET_FILES:
            default_name = folder_name(path.parent)
        return _parse(
            path.name,
            _read_set_file(path, path.parent),
            FolderFiles(path.parent),
            source=str(path),
            name=name if name is not None else default_name,
            limits=limits,
        )
    raise SetError(str(path), [_("There is no file or folder at this path.")])


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
    limits = ImageLimits(max_image_bytes, max_pixels, max_set_pixels)
    stem = PurePosixPath(file_name).stem
    if file_name.lower().endswith(".zip"):
        if len(data) > MAX_SET_BYTES:
            raise SetError(file_name, [too_large(TOO_LARGE_ZIP, len(data), MAX_SET_BYTES)])
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise SetError(file_name, [not_a_zip(exc)]) from None
        with archive:
            return _read_zip(archive, file_name, name=stem if name is None else name, limits=limits)
    if len(data) > MAX_SET_FILE_BYTES:
        raise SetError(file_name, [too_large(TOO_LARGE_FILE, len(data), MAX_SET_FILE_BYTES)])
    return _parse(
        file_name,
        data,
        None,
        source=file_name,
        name=name if name is not None else stem,
        limits=limits,
    )


def _parse(
    file_name: str,
    data: bytes,
    files: Files | None,
    *,
    source: str,
    name: str,
    limits: ImageLimits,
) -> ParsedSet:
    """Read one set file's bytes into a ParsedSet; `files` holds its images (None: an upload)."""
    report = Report(source)
    try:
        set_name = check_set_name(name)
    except InputError as exc:
        report.add(str(exc))  # reported with the rows' problems, so one attempt shows them all
        set_name = ""
    text = decode(data, file_name, report)
    suffix = PurePosixPath(file_name).suffix.lower()
    kind: SetKind
    if suffix == ".csv":
        kind, rows = csv_rows(text, file_name, SET_FILES.get(file_name.lower()), report)
    elif suffix == ".jsonl":
        kind, rows = "vlm", jsonl_rows(text, file_name, report)
    elif suffix == ".txt":
        kind, rows = "tts", txt_rows(text)
    else:
        report.fail(
            _(
                "Lineup reads question sets from .csv, .jsonl and .txt files, or a folder or .zip "
                "holding one of {files}; {file} is none of these."
            ).format(files=names(SET_FILES), file=file_name)
        )
    if len(rows) > MAX_ITEMS:
        report.fail(
            at(
                line_of(file_name, rows[MAX_ITEMS].line),
                _("the set has more than {count} items. Split it into smaller sets.").format(
                    count=grouped(MAX_ITEMS)
                ),
            )
        )
    if kind == "vlm" and files is None:
        raise SetError(
            source,
            [
                _(
                    "{file} is a set of questions about images, and the images do not come "
                    "with it. Upload a .zip of the folder that holds {file} and its images."
                ).format(file=file_name)
            ],
        )
    if not rows and not report.problems:
        report.fail(_(NO_ITEMS[suffix]).format(file=file_name))

    items: list[SetItem] = []
    # A VLM set without files was refused above.
    images = ImageReader(files, limits, report) if kind == "vlm" and files is not None else None
    if images is not None:
        images.read_headers(rows, file_name)
    for row in rows:
        where = line_of(file_name, row.line)
        if images is not None:
            item = vlm_item(row, where, images.read, report)
        else:
            item = tts_item(row, where, report)
        if item is not None:
            items.append(item)
    if report.problems:
        raise SetError(source, report.problems)
    return ParsedSet(name=set_name, kind=kind, items=tuple(items), source=source)


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
                    _(
                        "{file} is a symbolic link to a file outside the set's folder; Lineup "
                        "does not follow it. Copy the file itself into the folder."
                    ).format(file=path.name)
                ],
            )
        size = real_path.stat().st_size
        if size > MAX_SET_FILE_BYTES:
            raise SetError(str(path), [too_large(TOO_LARGE_FILE, size, MAX_SET_FILE_BYTES)])
        with real_path.open("rb") as file:
            data = file.read(MAX_SET_FILE_BYTES + 1)  # it may have grown since stat()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SetError(
            str(path), [_("The file cannot be read ({reason}).").format(reason=reason)]
        ) from None
    if len(data) > MAX_SET_FILE_BYTES:
        raise SetError(str(path), [too_large(TOO_LARGE_FILE, len(data), MAX_SET_FILE_BYTES)])
    return data


def _read_zip(archive: zipfile.ZipFile, label: str, *, name: str, limits: ImageLimits) -> ParsedSet:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SetError(
            label,
            [
                _(
                    "The zip holds {count} entries, over the limit of {limit}. Split the set "
                    "into smaller ones."
                ).format(count=grouped(len(infos)), limit=grouped(MAX_ZIP_MEMBERS))
            ],
        )
    unpacked_bytes = sum(info.file_size for info in infos)
    if unpacked_bytes > MAX_SET_BYTES:
        raise SetError(label, [too_large(TOO_LARGE_UNPACKED, unpacked_bytes, MAX_SET_BYTES)])
    members = zip_members(infos, label)
    base = zip_base(members)
    found = set_files_in(member[len(base) :] for member in members if member.startswith(base))
    if base:
        where = _("{zip}, in its folder {folder}").format(zip=label, folder=base.rstrip("/"))
    else:
        where = _("{zip} (at its root, or in its one top-level folder)").format(zip=label)
    set_file = base + one_set_file(found, label, where)
    info = members[set_file]
    source = _("{file} in {zip}").format(file=set_file, zip=label)
    if info.file_size > MAX_SET_FILE_BYTES:
        raise SetError(source, [too_large(TOO_LARGE_FILE, info.file_size, MAX_SET_FILE_BYTES)])
    try:
        data = read_member(archive, info, MAX_SET_FILE_BYTES, what=set_file)
    except Problem as exc:
        raise SetError(source, [str(exc)]) from None
    return _parse(
        PurePosixPath(set_file).name,
        data,
        ZipFiles(archive, base, members, label),
        source=source,
        name=name,
        limits=limits,
    )

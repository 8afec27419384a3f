"""Where a set's files are read from: its folder or its zip, each image read once and bounded
before any is decoded, and the zip's entries checked before any is read."""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lineup.core import (
    N_,
    ImageHeader,
    MediaError,
    _,
    grouped,
    image_header,
    read_image_file,
    too_big,
    validate_image,
)
from lineup.sets.items import (
    MAX_SET_BYTES,
    MIB,
    SET_FILES,
    Problem,
    Report,
    Row,
    SetError,
    at,
    line_of,
    names,
)

_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int  # of one image
    max_set_pixels: int  # of all the set's images together


class Files(Protocol):
    def read(self, relative: str, max_bytes: int) -> bytes:
        """The bytes of the file at `relative` ('/'-separated, no '..'); Problem if there is
        no such file or it may not be read."""
        ...


class FolderFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._real_folder = folder.resolve()

    def read(self, relative: str, max_bytes: int) -> bytes:
        try:
            real_path = (self.folder / relative).resolve(strict=True)
        except FileNotFoundError:
            raise Problem(
                _(
                    "the image {image} is missing: there is no such file in {folder}. "
                    "Check the path and its upper and lower case."
                ).format(image=repr(relative), folder=self.folder)
            ) from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
            raise Problem(
                _("the image {image} cannot be opened ({reason}).").format(
                    image=repr(relative), reason=exc
                )
            ) from None
        if not real_path.is_relative_to(self._real_folder):
            raise Problem(
                _(
                    "the image {image} is a symbolic link to a file outside the set's folder. "
                    "Copy the image itself into the folder."
                ).format(image=repr(relative))
            )
        try:
            return read_image_file(real_path, max_bytes=max_bytes)
        except MediaError as exc:
            raise Problem(image_problem(relative, str(exc))) from None


class ZipFiles:
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
            if self.base:
                message = _(
                    "the image {image} is missing: there is no such file in {zip} (in its "
                    "folder {folder}). Check the path and its upper and lower case."
                )
            else:
                message = _(
                    "the image {image} is missing: there is no such file in {zip}. Check the "
                    "path and its upper and lower case."
                )
            raise Problem(
                message.format(image=repr(relative), zip=self.label, folder=self.base.rstrip("/"))
            )
        if info.file_size > max_bytes:
            raise Problem(image_problem(relative, str(too_big(info.file_size, max_bytes))))
        return read_member(
            self.archive,
            info,
            max_bytes,
            what=_("the image {image}").format(image=repr(relative)),
        )


class ImageReader:
    """Reads each image of a set once, however many items name it: first every image's bytes
    and header (`read_headers`), to bound the set's bytes and pixels before any image is
    decoded, then each image decoded and validated as an item uses it (`read`)."""

    def __init__(self, files: Files, limits: ImageLimits, report: Report) -> None:
        self.files = files
        self.limits = limits
        self.report = report
        self._headers: dict[str, tuple[bytes, ImageHeader] | Problem] = {}
        self._images: dict[str, tuple[bytes, str] | Problem] = {}

    def read_headers(self, rows: Sequence[Row], file_name: str) -> None:
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
            except Problem:
                continue  # its item reports it
            if relative in self._headers:
                continue
            found = self._header(relative)
            self._headers[relative] = found
            if isinstance(found, Problem):
                continue
            total_bytes += len(found[0])
            total_pixels += found[1].pixels
            if total_bytes > MAX_SET_BYTES:
                self.report.fail(
                    _(
                        "The set's images add up to over {megabytes} MB. Split it into "
                        "smaller sets."
                    ).format(megabytes=grouped(MAX_SET_BYTES / MIB))
                )
            if total_pixels > self.limits.max_set_pixels:
                self.report.fail(
                    at(
                        line_of(file_name, row.line),
                        _(
                            "with this item's image, the set's images add up to {megapixels} "
                            "megapixels, over the limit of {limit} megapixels for one set: "
                            "decoding them all would take too long. Split the set into smaller "
                            "ones or use smaller images, or raise the limit with the "
                            "{variable} environment variable."
                        ).format(
                            megapixels=_megapixels(total_pixels),
                            limit=_megapixels(self.limits.max_set_pixels),
                            variable="LINEUP_MAX_SET_MEGAPIXELS",
                        ),
                    )
                )

    def read(self, written: str) -> tuple[bytes, str]:
        """The validated bytes and suffix of the image at `written`; Problem if unusable."""
        relative = _image_path(written)
        image = self._images.get(relative)
        if image is None:
            found = self._headers.get(relative) or self._header(relative)
            if isinstance(found, Problem):
                image = found
            else:
                try:
                    validated = validate_image(
                        found[0], max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_pixels
                    )
                    image = (validated.data, validated.suffix)
                except MediaError as exc:
                    image = Problem(image_problem(relative, str(exc)))
            self._images[relative] = image
            self._headers.pop(relative, None)  # its bytes are held once, by the image
        if isinstance(image, Problem):
            raise image
        return image

    def _header(self, relative: str) -> tuple[bytes, ImageHeader] | Problem:
        try:
            data = self.files.read(relative, self.limits.max_bytes)
            header = image_header(
                data, max_bytes=self.limits.max_bytes, max_pixels=self.limits.max_pixels
            )
        except MediaError as exc:
            return Problem(image_problem(relative, str(exc)))
        except Problem as exc:
            return exc
        return data, header


def _image_path(written: str) -> str:
    """The image's path inside the set's folder, '/'-separated; Problem if it may not be used."""
    path = written.strip().replace("\\", "/")
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        raise Problem(
            _(
                "the image path {path} is absolute. Give it relative to the folder that holds "
                "the set file, such as photos/cat.jpg."
            ).format(path=repr(written))
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Problem(
            _(
                "the image path {path} leads out of the set's folder (..). Copy the image "
                "into the folder and give its path there."
            ).format(path=repr(written))
        )
    if not parts:
        raise Problem(
            _(
                "no image: give the path of an image file, relative to the folder that holds "
                "the set file."
            )
        )
    return "/".join(parts)


def zip_members(infos: Sequence[zipfile.ZipInfo], label: str) -> dict[str, zipfile.ZipInfo]:
    """The zip's entries by the path an image is written with; SetError for an entry that leads
    out of its folder, is given twice or is a symbolic link. Folders, `__MACOSX/` and
    `.DS_Store` are left out."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        written = info.filename.replace("\\", "/")
        parts = [part for part in written.split("/") if part not in ("", ".")]
        if written.startswith("/") or _WINDOWS_DRIVE.match(written) or ".." in parts:
            raise SetError(
                label,
                [
                    _(
                        "The zip holds {path}, a path that leads out of the folder it unpacks "
                        "to; Lineup refuses such zips. Zip the set's folder again."
                    ).format(path=repr(info.filename))
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
                    _(
                        "The zip holds {path} twice; Lineup cannot tell which one is meant. "
                        "Zip the set's folder again."
                    ).format(path=repr(member))
                ],
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SetError(
                label,
                [
                    _(
                        "The zip holds {path} as a symbolic link; Lineup reads no links from a "
                        "zip. Zip the set's folder again without --symlinks (-y), so that it "
                        "holds the files themselves."
                    ).format(path=repr(member))
                ],
            )
        members[member] = info
    return members


def zip_base(members: Iterable[str]) -> str:
    """Where the set file is looked for: '' (the zip's root) or its one top-level folder."""
    names = list(members)
    if any(name.lower() in SET_FILES for name in names):
        return ""
    top_folders = {name.split("/", 1)[0] for name in names}
    if len(top_folders) == 1 and all("/" in name for name in names):
        return top_folders.pop() + "/"
    return ""


def read_member(
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
        raise Problem(
            _(
                "{what} cannot be read from the zip ({reason}). Zip the folder again, without a "
                "password."
            ).format(what=what, reason=exc)
        ) from None


def set_files_in(names: Iterable[str]) -> list[str]:
    return sorted(
        (name for name in names if name.lower() in SET_FILES),
        key=lambda name: list(SET_FILES).index(name.lower()),
    )


def one_set_file(found: list[str], source: str, where: str) -> str:
    if not found:
        raise SetError(
            source,
            [
                _("There is no set file in {where}. Add one of {files}.").format(
                    where=where, files=names(SET_FILES, "or")
                )
            ],
        )
    if len(found) > 1:
        raise SetError(
            source,
            [
                _(
                    "There are {count} set files in {where}: {files}. A set is one file: move "
                    "the others to folders of their own."
                ).format(count=len(found), where=where, files=names(found))
            ],
        )
    return found[0]


def folder_name(folder: Path) -> str:
    return Path(os.path.abspath(folder)).name


def image_problem(relative: str, problem: str) -> str:
    """A problem of one image, with its path: `the image 'cat.png': The file is empty...`."""
    return _("the image {image}: {problem}").format(image=repr(relative), problem=problem)


def _megapixels(pixels: int) -> str:
    """Megapixels as a person writes them: 10,040, 3.5, 0.0036."""
    megapixels = pixels / 1_000_000
    return grouped(megapixels) if megapixels >= 100 else f"{megapixels:.3g}"


# What is too large, each a whole sentence ({megabytes}: its size; {limit}: the limit).
TOO_LARGE_ZIP = N_(
    "The zip is {megabytes} MB, over the limit of {limit} MB for a question set. Split it into "
    "smaller sets."
)
TOO_LARGE_FILE = N_(
    "The file is {megabytes} MB, over the limit of {limit} MB for a question set. Split it "
    "into smaller sets."
)
TOO_LARGE_UNPACKED = N_(
    "Unpacked, the zip is {megabytes} MB, over the limit of {limit} MB for a question set. "
    "Split it into smaller sets."
)


def too_large(message: str, size_bytes: int, max_bytes: int) -> str:
    """`message` (one of TOO_LARGE_*) said with the sizes."""
    return _(message).format(megabytes=grouped(size_bytes / MIB, 1), limit=grouped(max_bytes / MIB))


def not_a_zip(exc: Exception) -> str:
    return _(
        "This is not a .zip file Lineup can read ({reason}). Zip the set's folder again."
    ).format(reason=exc)

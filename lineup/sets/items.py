"""A question set's items and their fields, checked one by one; the set's limits and its
error (lineup.sets.read says where a set comes from and what its files hold)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NoReturn, TypeVar

from lineup.core import (
    N_,
    InputError,
    MediaError,
    TextMessages,
    _,
    check_question,
    check_sentence,
    check_text,
    ngettext,
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

MIB = 1024 * 1024
MAX_ITEMS = 10_000
# As long as a question: a model's expected answer to one.
MAX_REFERENCE_CHARS = 20_000
MAX_NAME_CHARS = SET_NAME_MAX_CHARS  # the column that holds it
MAX_LANGUAGE_CHARS = LANGUAGE_MAX_CHARS  # the length BCP 47 asks every reader to handle
MAX_TAGS = 32
MAX_TAG_CHARS = 64
# 10,000 items of a 20,000-character question and reference each would be 400 MB; real sets
# are far smaller, and a bigger file is a wrong file.
MAX_SET_FILE_BYTES = 64 * MIB
# A set's images are held in memory until the store writes them: bound them, and a zip's
# unpacked size (zip bombs), by one figure.
MAX_SET_BYTES = 1024 * MIB
MAX_ZIP_MEMBERS = 20_000
# Every image of a set is decoded once as it is imported, and decoding takes time by the pixel
# (12-13 ms a megapixel here): a few KB of PNG can claim 40 megapixels. The images' pixels are
# added up from their headers before any is decoded (LINEUP_MAX_SET_MEGAPIXELS).
DEFAULT_MAX_SET_PIXELS = 10_000 * 1_000_000
MAX_PROBLEMS_SHOWN = 20

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_TAG_SEPARATORS = re.compile(r"[;,]")

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


SET_NAME_TEXT = TextMessages(
    empty=N_("The set name is empty: give it a name."),
    too_long=N_("The set name is {length} characters long, over the limit of {limit}. Shorten it."),
    nul=N_("The set name holds a NUL character (\\0). Remove it."),
    not_utf8=N_("The set name holds bytes that are not UTF-8 text. Save or type it as UTF-8."),
)
REFERENCE_TEXT = TextMessages(
    empty=N_("The reference answer is empty: leave it out."),
    too_long=N_(
        "The reference answer is {length} characters long, over the limit of {limit}. Shorten it."
    ),
    nul=N_("The reference answer holds a NUL character (\\0). Remove it."),
    not_utf8=N_(
        "The reference answer holds bytes that are not UTF-8 text. Save or type it as UTF-8."
    ),
)


def check_set_name(name: str) -> str:
    """The set's name, stripped; InputError if it is empty, too long or holds control characters."""
    stripped = check_text(name, messages=SET_NAME_TEXT, max_chars=MAX_NAME_CHARS)
    if any(unicodedata.category(char) == "Cc" for char in stripped):
        raise InputError(
            _("The set name holds a control character (a tab or a line break?). Remove it.")
        )
    return stripped


def check_reference(text: str) -> str | None:
    """A reference answer, stripped, or None when empty; InputError if too long or not text."""
    if not text.strip():
        return None
    return check_text(text, messages=REFERENCE_TEXT, max_chars=MAX_REFERENCE_CHARS)


def check_language(tag: str) -> str | None:
    """A language tag in its usual case (`en`, `ru`, `pt-BR`), or None when empty."""
    stripped = tag.strip()
    if not stripped:
        return None
    if len(stripped) > MAX_LANGUAGE_CHARS or not _LANGUAGE_TAG.fullmatch(stripped):
        shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
        raise InputError(
            _(
                "{tag} is not a language tag. Write a code such as en, ru or pt-BR, "
                "or leave the language empty."
            ).format(tag=repr(shown))
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
            _("The tags must be one string of tags separated by ; or , or a list of strings.")
        )
    tags: dict[str, None] = {}  # an ordered set
    for piece in pieces:
        for tag in _TAG_SEPARATORS.split(piece):
            tag = tag.strip()
            if not tag:
                continue
            if len(tag) > MAX_TAG_CHARS:
                raise InputError(
                    _(
                        "The tag {tag}... is {length} characters long, over the limit of "
                        "{limit}. Shorten it."
                    ).format(tag=repr(tag[:20]), length=len(tag), limit=MAX_TAG_CHARS)
                )
            if any(unicodedata.category(char) in ("Cc", "Cs") for char in tag):
                raise InputError(
                    _("The tag {tag} holds a control character. Remove it.").format(tag=repr(tag))
                )
            tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise InputError(
            _("There are {count} tags, over the limit of {limit}.").format(
                count=len(tags), limit=MAX_TAGS
            )
        )
    return tuple(tags)


def _subtag_case(subtag: str) -> str:
    if len(subtag) == 2 and subtag.isalpha():
        return subtag.upper()  # a region: pt-BR
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()  # a script: zh-Hant
    return subtag.lower()


# Reading ------------------------------------------------------------------------------------


class Problem(Exception):
    """One problem with a set, worded for the user; collected into the SetError."""


class Report:
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
        except (InputError, MediaError, Problem) as exc:
            self.add(at(where, str(exc)))
            return None


@dataclass(frozen=True)
class Row:
    line: int
    fields: Mapping[str, object]


# What a set file with no items is told, by the file's suffix ({file}: its name).
NO_ITEMS = {
    ".csv": N_("{file} has no items. Add at least one row under the header."),
    ".jsonl": N_("{file} has no items. Add at least one JSON object per line."),
    ".txt": N_("{file} has no items. Add at least one sentence per line."),
}


def line_of(file_name: str, line: int) -> str:
    """Where a problem is: `questions.csv, line 3`."""
    return _("{file}, line {line}").format(file=file_name, line=line)


def at(where: str, problem: str) -> str:
    """A problem said with where it is: `questions.csv, line 3: the image ... is missing`."""
    return _("{where}: {problem}").format(where=where, problem=problem)


def vlm_item(
    row: Row, where: str, read_image: Callable[[str], tuple[bytes, str]], report: Report
) -> SetItem | None:
    """The item of a VLM set's row, or None when a problem was reported (`read_image`: the
    validated bytes and suffix of the image at a written path, ImageReader.read)."""
    found_before = len(report.problems)
    written = report.checked(where, lambda: _text(row, "image"))
    image = report.checked(where, lambda: read_image(written)) if written is not None else None
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


def tts_item(row: Row, where: str, report: Report) -> SetItem | None:
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


def _text(row: Row, key: str) -> str:
    value = row.fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Problem(_(_not_a_string(value)).format(key=repr(key), kind=type(value).__name__))
    return value


def _not_a_string(value: object) -> str:
    """The message for a JSON field that is not a string, by what it is ({key}, {kind})."""
    if isinstance(value, bool):
        return N_("{key} must be a string, not true or false.")
    if isinstance(value, int | float):
        return N_("{key} must be a string, not a number.")
    if isinstance(value, list):
        return N_("{key} must be a string, not a list.")
    if isinstance(value, dict):
        return N_("{key} must be a string, not an object.")
    return N_("{key} must be a string, not {kind}.")


_LAST_OF_LIST = {"and": N_("{first} and {last}"), "or": N_("{first} or {last}")}


def names(names: Iterable[str], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c` (`last`: "and" or "or", said in the current language)."""
    listed = list(names)
    if len(listed) == 1:
        return listed[0]
    return _(_LAST_OF_LIST[last]).format(first=", ".join(listed[:-1]), last=listed[-1])


def _summary(source: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return _("Nothing was imported from {source}: {problem}").format(
            source=source, problem=problems[0]
        )
    shown = problems[:MAX_PROBLEMS_SHOWN]
    lines = [
        ngettext(
            "Nothing was imported from {source}; {count} problem:",
            "Nothing was imported from {source}; {count} problems:",
            len(problems),
        ).format(source=source, count=len(problems))
    ]
    lines += [f"- {problem}" for problem in shown]
    if len(problems) > len(shown):
        lines.append(_("- and {count} more.").format(count=len(problems) - len(shown)))
    return "\n".join(lines)

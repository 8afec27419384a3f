"""The question sets that ship with Lineup (sample_media/sets/, written by scripts/make_samples.py):
what each holds, whether the store has it already, and storing one by name, at most once.

A shipped set counts as stored when a stored set holds exactly its items (the same questions or
sentences, images by hash, references, languages and tags, in order), under its own name or
another: importing it again returns that set instead of storing a second copy. A different set
stored under the shipped set's name is left alone, and the import asks for another name.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineup.core import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, InputError
from lineup.sets.items import ParsedSet, SetError, SetItem, SetKind
from lineup.sets.library import SetSummary, save_set, set_by_name, set_summaries
from lineup.sets.read import read_set
from lineup.sets.samples import SAMPLE_DIR
from lineup.store import MediaStore, QuestionSet, Store, media_digest

SETS_DIR = SAMPLE_DIR / "sets"
MAKE_SAMPLES_HINT = "`python scripts/make_samples.py` (run by `make setup`) writes their images"

# An item as both a parsed and a stored set can give it: text, image hash, reference,
# language, tags.
_ItemKey = tuple[str, str | None, str | None, str | None, tuple[str, ...]]


class UnknownShippedSet(InputError):
    """A name that is not one of the shipped sets; the message lists those there are."""


@dataclass(frozen=True)
class ShippedSet:
    """A shipped set as the Sets page offers it."""

    name: str  # its folder's name under sample_media/sets/, and the name it is stored under
    kind: SetKind | None  # None when it cannot be read
    items: int
    with_reference: int
    languages: dict[str, int]  # items per language ("" for none given)
    stored_as: str | None  # the stored set that holds exactly its items, if any
    name_taken: bool  # another set is stored under its name
    problem: str | None = None  # why it cannot be read (its images not written yet?)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "items": self.items,
            "with_reference": self.with_reference,
            "languages": self.languages,
            "stored_as": self.stored_as,
            "name_taken": self.name_taken,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ShippedImport:
    summary: SetSummary  # the stored set
    already_stored: bool  # True when it was stored before (nothing was written now)


def shipped_set_names(root: Path = SETS_DIR) -> list[str]:
    """The shipped sets, by name (their folders), in alphabetical order."""
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir())


def shipped_sets(
    store: Store,
    *,
    max_image_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    root: Path = SETS_DIR,
) -> list[ShippedSet]:
    """Every shipped set: what it holds and whether (and as what) the store has it."""
    stored = set_summaries(store)
    names = {summary.name for summary in stored}
    offered = []
    for name in shipped_set_names(root):
        try:
            parsed = _read(root / name, None, max_image_bytes, max_pixels)
        except SetError as exc:
            offered.append(
                ShippedSet(
                    name=name,
                    kind=None,
                    items=0,
                    with_reference=0,
                    languages={},
                    stored_as=None,
                    name_taken=name in names,
                    problem=f"{exc.problems[0]} ({MAKE_SAMPLES_HINT})",
                )
            )
            continue
        copy = _stored_copy(store, parsed, stored)
        languages = Counter(item.language or "" for item in parsed.items)
        offered.append(
            ShippedSet(
                name=name,
                kind=parsed.kind,
                items=len(parsed.items),
                with_reference=sum(item.reference is not None for item in parsed.items),
                languages=dict(sorted(languages.items())),
                stored_as=copy.name if copy is not None else None,
                name_taken=name in names and (copy is None or copy.name != name),
            )
        )
    return offered


def import_shipped(
    store: Store,
    media: MediaStore,
    name: str,
    *,
    as_name: str | None = None,
    max_image_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    root: Path = SETS_DIR,
) -> ShippedImport:
    """Store the shipped set `name` (under `as_name` if given), unless a stored set already
    holds its items: then that one is returned, and nothing is written.

    UnknownShippedSet for a name that is not shipped; SetError when it cannot be read or a
    different set holds the name it would be stored under.
    """
    names = shipped_set_names(root)
    if name not in names:
        listed = ", ".join(names) or "none: sample_media/sets/ is missing"
        raise UnknownShippedSet(f"There is no shipped set named {name!r}. Shipped sets: {listed}.")
    parsed = _read(root / name, as_name, max_image_bytes, max_pixels)
    copy = _stored_copy(store, parsed, set_summaries(store))
    if copy is not None:
        return ShippedImport(copy, already_stored=True)
    try:
        return ShippedImport(save_set(store, media, parsed), already_stored=False)
    except SetError:
        # The name is taken: by this very set, stored meanwhile by another click or process
        # (then it is the one), or by a different set (then the message asks for a name).
        copy = _stored_copy(store, parsed, set_summaries(store))
        if copy is None:
            raise
        return ShippedImport(copy, already_stored=True)


def _stored_copy(store: Store, parsed: ParsedSet, stored: list[SetSummary]) -> SetSummary | None:
    """The stored set that holds exactly the parsed set's items: the one under its name
    first, else any of the same kind and size."""
    candidates = sorted(
        (s for s in stored if s.kind == parsed.kind and s.items == len(parsed.items)),
        key=lambda s: s.name != parsed.name,
    )
    wanted = [_parsed_key(item) for item in parsed.items]
    for summary in candidates:
        question_set = set_by_name(store, summary.name)
        if question_set is not None and _stored_keys(question_set) == wanted:
            return summary
    return None


def _parsed_key(item: SetItem) -> _ItemKey:
    image_hash = media_digest(item.image) if item.image is not None else None
    return (item.text, image_hash, item.reference, item.language, tuple(item.tags))


def _stored_keys(question_set: QuestionSet) -> list[_ItemKey]:
    return [
        (item.text, item.image_hash, item.reference, item.language, tuple(item.tags or ()))
        for item in question_set.items
    ]


# A shipped set is read whole (its images decoded and checked) by the import code; the Sets
# page asks on every run, so each reading is kept while its files stay as they are.
_read_lock = threading.Lock()
_readings: dict[tuple[Any, ...], ParsedSet] = {}


def _read(folder: Path, name: str | None, max_image_bytes: int, max_pixels: int) -> ParsedSet:
    files = tuple(
        (str(path), path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    )
    key = (str(folder), name, max_image_bytes, max_pixels, files)
    with _read_lock:
        if key in _readings:
            return _readings[key]
    parsed = read_set(folder, name=name, max_image_bytes=max_image_bytes, max_pixels=max_pixels)
    with _read_lock:
        for old in [k for k in _readings if k[:2] == key[:2]]:
            del _readings[old]  # an earlier reading of files since changed
        _readings[key] = parsed
    return parsed

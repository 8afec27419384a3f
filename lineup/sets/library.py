"""Question sets in the store: a set read and checked whole (lineup.sets.read) is written in
one transaction, its images first into the media store by hash; sets are listed and read back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lineup.sets.items import ParsedSet, SetError
from lineup.store import MediaStore, QuestionSet, SetItemRow, Store


@dataclass(frozen=True)
class SetSummary:
    """What a list of sets shows of each."""

    id: int
    name: str
    kind: str
    items: int
    with_reference: int
    languages: dict[str, int]  # items per language ("" for none given)
    source: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "items": self.items,
            "with_reference": self.with_reference,
            "languages": self.languages,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
        }


def save_set(store: Store, media: MediaStore, parsed: ParsedSet) -> SetSummary:
    """Store a checked set under its name, all or nothing; SetError when that name is taken.

    The images go into the media store first, all or none of them (a full disk leaves no file:
    MediaStoreError); the set and its items are then written in one transaction. If that
    fails (a full disk again, a damaged database, the name taken meanwhile, Ctrl-C), the
    images this import added are removed again, unless a row names one by then: media are
    content-addressed and shared, and another set or run may have stored the same image in
    the meantime.
    """
    with store.session() as session:
        taken = session.scalar(select(QuestionSet.id).where(QuestionSet.name == parsed.name))
    if taken is not None:
        raise _name_taken(parsed)
    images = [
        (item.image, item.image_suffix or ".png") for item in parsed.items if item.image is not None
    ]
    image_hashes, added = media.put_all(images)
    hashes = iter(image_hashes)
    question_set = QuestionSet(name=parsed.name, kind=parsed.kind, source=parsed.source)
    question_set.items = [
        SetItemRow(
            position=position,
            text=item.text,
            image_hash=next(hashes) if item.image is not None else None,
            reference=item.reference,
            language=item.language,
            tags=list(item.tags),
        )
        for position, item in enumerate(parsed.items)
    ]
    try:
        with store.session() as session:
            session.add(question_set)
            session.flush()
            set_id = question_set.id
    except BaseException as exc:
        _discard_unused(store, media, added)
        if isinstance(exc, IntegrityError):
            raise _name_taken(parsed) from None  # another process stored the same name meanwhile
        raise
    [summary] = set_summaries(store, set_id)
    return summary


def _discard_unused(store: Store, media: MediaStore, added: list[Path]) -> None:
    """Remove the media files an import added and no row names: its set was not stored."""
    if not added:
        return
    try:
        used = store.media_in_use(file.stem for file in added)
    except Exception:  # noqa: BLE001 - the store may be what failed; then keep every file
        return
    media.discard(file for file in added if file.stem not in used)


def _name_taken(parsed: ParsedSet) -> SetError:
    return SetError(
        parsed.source,
        [
            f"a set named {parsed.name!r} is already stored. Import it under another name "
            "(--name in the CLI), or use the stored one."
        ],
    )


def set_by_name(store: Store, name: str) -> QuestionSet | None:
    """The set of that name with its items, or None."""
    with store.session() as session:
        return session.scalar(
            select(QuestionSet)
            .where(QuestionSet.name == name.strip())
            .options(selectinload(QuestionSet.items))
        )


def set_summaries(store: Store, set_id: int | None = None) -> list[SetSummary]:
    """Every stored set (or the one of `set_id`), newest first, with its item counts."""
    query = select(QuestionSet).order_by(QuestionSet.id.desc())
    items = select(
        SetItemRow.set_id,
        SetItemRow.language,
        func.count(),
        func.count(SetItemRow.reference),
    ).group_by(SetItemRow.set_id, SetItemRow.language)
    if set_id is not None:
        query = query.where(QuestionSet.id == set_id)
        items = items.where(SetItemRow.set_id == set_id)
    with store.session() as session:
        sets = list(session.scalars(query))
        languages: dict[int, Counter[str]] = {}
        references: Counter[int] = Counter()
        for sid, language, n, with_reference in session.execute(items):
            languages.setdefault(sid, Counter())[language or ""] += n
            references[sid] += with_reference
    return [
        SetSummary(
            id=s.id,
            name=s.name,
            kind=s.kind,
            items=sum(languages.get(s.id, Counter()).values()),
            with_reference=references[s.id],
            languages=dict(sorted(languages.get(s.id, Counter()).items())),
            source=s.source,
            created_at=s.created_at,
        )
        for s in sets
    ]

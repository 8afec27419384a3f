"""Question sets in the store: a set read and checked whole (lineup.question_sets) is written in
one transaction, its images first into the media store by hash; sets are listed and read back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lineup.mediastore import MediaStore
from lineup.models import QuestionSet, SetItemRow
from lineup.question_sets import ParsedSet, SetError
from lineup.store import Store


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
    """Store a checked set under its name; SetError when that name is taken.

    The images go into the media store first (content-addressed: writing one twice is
    harmless, and an image no set row names costs only its file); the set and its items are
    then written in one transaction, all or nothing.
    """
    with store.session() as session:
        taken = session.scalar(select(QuestionSet.id).where(QuestionSet.name == parsed.name))
    if taken is not None:
        raise _name_taken(parsed)
    hashes = [
        media.put(item.image, item.image_suffix or ".png") if item.image is not None else None
        for item in parsed.items
    ]
    question_set = QuestionSet(name=parsed.name, kind=parsed.kind, source=parsed.source)
    question_set.items = [
        SetItemRow(
            position=position,
            text=item.text,
            image_hash=image_hash,
            reference=item.reference,
            language=item.language,
            tags=list(item.tags),
        )
        for position, (item, image_hash) in enumerate(zip(parsed.items, hashes, strict=True))
    ]
    try:
        with store.session() as session:
            session.add(question_set)
            session.flush()
            set_id = question_set.id
    except IntegrityError:
        raise _name_taken(parsed) from None  # another process stored the same name meanwhile
    [summary] = set_summaries(store, set_id)
    return summary


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

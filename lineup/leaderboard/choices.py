"""What the leaderboard's filters can be set to, and the check that a filter names a study,
set, tag and annotator the store holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from lineup.core import InputError, _
from lineup.leaderboard.filters import STATUS_CHOICES, LeaderboardFilter
from lineup.store import Label, QuestionSet, SetItemRow, Store, Study


@dataclass(frozen=True)
class StudyChoice:
    id: int
    set_name: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class SetChoice:
    name: str
    kind: str


@dataclass(frozen=True)
class FilterChoices:
    """What the filters can be set to: the stored studies (newest first) and sets (by name),
    the tags of their items, the annotators with a label (both sorted), the states."""

    studies: tuple[StudyChoice, ...]
    sets: tuple[SetChoice, ...]
    tags: tuple[str, ...]
    annotators: tuple[str, ...]
    statuses: tuple[str, ...] = STATUS_CHOICES


def filter_choices(store: Store) -> FilterChoices:
    """Every study, set, tag and annotator there is. The annotators are read from an index of
    every label (a walk of it: about 0.1 s at a million labels on SQLite, which is why the
    page asks only when its filter bar is on); the rest from small tables."""
    with store.session() as session:
        studies = tuple(
            StudyChoice(study_id, set_name, kind, created_at)
            for study_id, set_name, kind, created_at in session.execute(
                select(Study.id, QuestionSet.name, Study.kind, Study.created_at)
                .join(QuestionSet, Study.set_id == QuestionSet.id)
                .order_by(Study.id.desc())
            )
        )
        sets = tuple(
            SetChoice(name, kind)
            for name, kind in session.execute(
                select(QuestionSet.name, QuestionSet.kind).order_by(QuestionSet.name)
            )
        )
        # Sorted here: SQLite sorts every label to answer DISTINCT with ORDER BY (0.3 s
        # against 0.09 s at a million labels).
        annotators = tuple(sorted(session.scalars(select(Label.annotator).distinct())))
    return FilterChoices(studies, sets, stored_tags(store), annotators)


def stored_tags(store: Store) -> tuple[str, ...]:
    """Every tag of a stored set item, sorted (sets are small: read in Python, the same on
    every database, where a JSON list would need each database's own functions)."""
    with store.session() as session:
        rows = session.scalars(select(SetItemRow.tags))
        return tuple(sorted({tag for tags in rows for tag in tags or ()}))


def set_row(store: Store, name: str) -> tuple[int, str] | None:
    """The id and kind of the set of that name."""
    with store.session() as session:
        row = session.execute(
            select(QuestionSet.id, QuestionSet.kind).where(QuestionSet.name == name)
        ).first()
    return None if row is None else (row[0], row[1])


def study_row(store: Store, study_id: int) -> tuple[int, str] | None:
    """The set id and kind of the study."""
    with store.session() as session:
        row = session.execute(select(Study.set_id, Study.kind).where(Study.id == study_id)).first()
    return None if row is None else (row[0], row[1])


def check_filter(store: Store, leaderboard_filter: LeaderboardFilter) -> None:
    """InputError when the filter names a study, set, tag or annotator the store does not
    hold (a typo would otherwise show an empty leaderboard)."""
    f = leaderboard_filter
    if f.study_id is not None and study_row(store, f.study_id) is None:
        raise InputError(
            _(
                "There is no study {study_id}. `python -m lineup study list` shows the studies."
            ).format(study_id=f.study_id)
        )
    if f.set_name is not None and set_row(store, f.set_name) is None:
        raise InputError(
            _("There is no set named {name}. `python -m lineup sets list` shows the sets.").format(
                name=repr(f.set_name)
            )
        )
    if f.tag is not None:
        tags = stored_tags(store)
        if f.tag not in tags:
            if tags:
                message = _("No set item has the tag {tag}. Tags: {known}.")
            else:
                message = _("No set item has the tag {tag}. Tags: none yet.")
            raise InputError(message.format(tag=repr(f.tag), known=", ".join(tags[:20])))
    if f.annotator is not None:
        with store.session() as session:
            found = session.scalar(select(Label.id).where(Label.annotator == f.annotator).limit(1))
        if found is None:
            raise InputError(
                _("There is no label by {annotator}.").format(annotator=repr(f.annotator))
            )

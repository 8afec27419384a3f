"""The labeling queue: a study's answers item by item, as one annotator labels them.

What an annotator sees of a study, read with few queries (a study may hold thousands of
answers): its items that have complete (`ok`) answers, in the set's order; one item with its
answers; their own progress. Only `ok` answers are in the queue (the store labels no other).

Decisions:

- A queue is always blind, whatever the study's own `blind` says: it is where answers are
  judged, so each item's answers are shuffled and shown as "Answer A", "Answer B", ... until
  this annotator has labeled every answer the item shows; then the model names appear. The
  order stays as it was (nothing jumps under the annotator's eyes).
- The shuffle is deterministic per (study, item, annotator): each answer is ranked by a hash
  of those and its own (model, repeat), so the order is the same on every reload, another
  annotator gets another order, and an answer that arrives later (a study still running)
  slips in without reordering the others.
- Letters are given over all of the item's answers, then the model filter applies: an
  answer keeps its letter whichever filter shows it.
- An annotator sees only their own labels and comments (their latest label on each answer,
  the one that counts), never another's.
- Items are numbered from 1 in the set's order (`number`, what the page's address holds).
- A queue may be narrowed to some answers (`answers`, their generation ids; the facade's
  "disputed" filter gives the answers the judge disputes, lineup.score.judge_reliability):
  only items with such an answer are in it, each showing those answers only, with the letters
  they have among all of the item's answers, like the model filter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from lineup.core import OK, _
from lineup.store import Generation, Label, Run, SetItemRow, Store


@dataclass(frozen=True)
class QueueEntry:
    """One item of the queue and how far this annotator got with its answers."""

    item_id: int
    number: int  # 1-based, in the set's order
    answers: int  # its `ok` answers (within the model filter)
    labeled: int  # how many of them this annotator has labeled

    @property
    def unlabeled(self) -> int:
        return self.answers - self.labeled


@dataclass(frozen=True)
class LabelQueue:
    """A study's queue for one annotator and filters, and how to move through it.

    `entries` holds every item with `ok` answers within the model filter (and among
    `answers`, when given); `items` those the queue shows (with `unlabeled_only`, the items
    that still have unlabeled answers).
    """

    study_id: int
    annotator: str
    model: str | None
    unlabeled_only: bool
    entries: tuple[QueueEntry, ...]
    answers: frozenset[int] | None = None  # the answers the queue is narrowed to; None: all

    @property
    def items(self) -> tuple[QueueEntry, ...]:
        if not self.unlabeled_only:
            return self.entries
        return tuple(entry for entry in self.entries if entry.unlabeled)

    @property
    def labeled(self) -> int:
        """Answers this annotator has labeled, within the model filter."""
        return sum(entry.labeled for entry in self.entries)

    @property
    def total(self) -> int:
        """`ok` answers in the study, within the model filter."""
        return sum(entry.answers for entry in self.entries)

    def entry(self, number: int) -> QueueEntry | None:
        """The item of that number, if it has answers within the model filter."""
        return next((entry for entry in self.entries if entry.number == number), None)

    def position(self, number: int) -> int | None:
        """Where the item stands among `items` (1-based); None when the filter leaves it out."""
        for index, entry in enumerate(self.items, start=1):
            if entry.number == number:
                return index
        return None

    def start(self) -> int | None:
        """The item to open first: the first with unlabeled answers, else the first (shown, or
        with answers when the filter shows none); None when the study has no answers."""
        pending = self.next_unlabeled(None)
        if pending is not None:
            return pending
        first = self.items or self.entries
        return first[0].number if first else None

    def next(self, number: int) -> int | None:
        """The item shown after this one (by number; it need not be shown itself)."""
        return next((entry.number for entry in self.items if entry.number > number), None)

    def previous(self, number: int) -> int | None:
        """The item shown before this one."""
        before = [entry.number for entry in self.items if entry.number < number]
        return before[-1] if before else None

    def next_unlabeled(self, number: int | None) -> int | None:
        """The next item after this one with answers this annotator has not labeled, going
        round to the first after the last (which may bring it back to this one); None when
        every answer is labeled."""
        pending = [entry.number for entry in self.entries if entry.unlabeled]
        if not pending:
            return None
        after = [n for n in pending if number is None or n > number]
        return after[0] if after else pending[0]


@dataclass(frozen=True)
class QueueAnswer:
    """One answer as the queue shows it to one annotator."""

    generation_id: int
    letter: str  # "A", "B", ..., "Z", "AA", ...: its place in the shuffled order
    model: str | None  # None while the names are hidden
    repeat: int | None  # None while the names are hidden
    output_text: str
    audio_hash: str | None  # a voice's clip in the media store
    transcript: str | None  # what the STT model heard in the clip
    relevance: str | None  # this annotator's label, if any
    comment: str | None  # with it
    spec: str | None = None  # the full spec the model's name stood for; None while hidden

    @property
    def title(self) -> str:
        return _("Answer {letter}").format(letter=self.letter)


@dataclass(frozen=True)
class ShownItem:
    """One item of a study as the labeling queue and the arena draw it."""

    study_id: int
    item_id: int
    number: int
    kind: str  # vlm | tts
    text: str  # the question, or the sentence the voices speak
    image_hash: str | None
    reference: str | None
    language: str | None
    tags: tuple[str, ...]


def read_shown_item(
    session: Session, study_id: int, which: ColumnElement[bool]
) -> ShownItem | None:
    """The study's item that `which` (a condition on SetItemRow) picks, with the kind of its
    run; None when the study has no such item."""
    found = session.execute(
        select(SetItemRow, Run.kind)
        .join(Run, Run.item_id == SetItemRow.id)
        .where(Run.study_id == study_id, which)
    ).first()
    if found is None:
        return None
    item, kind = found
    return ShownItem(
        study_id=study_id,
        item_id=item.id,
        number=item.position + 1,
        kind=kind,
        text=item.text,
        image_hash=item.image_hash,
        reference=item.reference,
        language=item.language,
        tags=tuple(item.tags or ()),
    )


@dataclass(frozen=True)
class QueueItem(ShownItem):
    """One item of a study with its `ok` answers in this annotator's order."""

    answers: tuple[QueueAnswer, ...]
    names_hidden: bool


def _counted_label_of(annotator: str) -> ColumnElement[bool]:
    """The join condition: this annotator's label that counts (their latest on an `ok` answer)."""
    return and_(
        Label.generation_id == Generation.id,
        Label.annotator == annotator,
        Label.counted,
    )


def label_queue(
    store: Store,
    study_id: int,
    annotator: str,
    *,
    model: str | None = None,
    unlabeled_only: bool = False,
    answers: Collection[int] | None = None,
) -> LabelQueue:
    """The study's queue for this annotator: one query, grouped by item. `answers`: narrow it
    to these generation ids (see the module's decisions).

    It walks the study's own index of answers: the state is counted, not filtered on, since a
    filter on it would tempt SQLite to walk every `ok` answer of every study instead. Only
    `ok` answers carry a label that counts."""
    annotator = annotator.strip()
    complete = func.count(case((Generation.status == OK, Generation.id)))
    statement = (
        select(SetItemRow.id, SetItemRow.position, complete, func.count(Label.id))
        .join(SetItemRow, SetItemRow.id == Generation.item_id)
        .outerjoin(Label, _counted_label_of(annotator))
        .where(Generation.study_id == study_id)
        .group_by(SetItemRow.id, SetItemRow.position)
        .having(complete > 0)
        .order_by(SetItemRow.position)
    )
    if model is not None:
        statement = statement.where(Generation.model_spec == model)
    narrowed = None if answers is None else frozenset(answers)
    if narrowed is not None:
        statement = statement.where(Generation.id.in_(sorted(narrowed)))
    with store.session() as session:
        rows = session.execute(statement).all()
    entries = tuple(
        QueueEntry(item_id=item_id, number=position + 1, answers=count, labeled=labeled)
        for item_id, position, count, labeled in rows
    )
    return LabelQueue(study_id, annotator, model, unlabeled_only, entries, narrowed)


def letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA, ...: spreadsheet column names."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def shuffle_rank(study_id: int, item_id: int, annotator: str, model: str, repeat: int) -> str:
    """Where an answer stands in this annotator's order of the item: a hash, stable on every
    reload and independent of the other answers."""
    key = f"{study_id}:{item_id}:{annotator}:{model}:{repeat}"
    return hashlib.sha256(key.encode()).hexdigest()


def queue_item(
    store: Store,
    study_id: int,
    number: int,
    annotator: str,
    *,
    model: str | None = None,
    answers: Collection[int] | None = None,
) -> QueueItem | None:
    """Item `number` of the study with its `ok` answers (of `model` only, and among
    `answers`, when given) in this annotator's order, with their labels and comments; None
    when the study has no such item. Two queries: the item, then its answers joined with
    this annotator's labels."""
    annotator = annotator.strip()
    with store.session() as session:
        item = read_shown_item(session, study_id, SetItemRow.position == number - 1)
        if item is None:
            return None
        rows = session.execute(
            select(
                Generation.id,
                Generation.model_spec,
                Generation.repeat,
                Generation.output_text,
                Generation.audio_hash,
                Generation.transcript,
                Label.relevance,
                Label.comment,
                Generation.resolved_spec,
            )
            .outerjoin(Label, _counted_label_of(annotator))
            .where(
                Generation.study_id == study_id,
                Generation.item_id == item.item_id,
                Generation.status == OK,
            )
        ).all()
    ranked = sorted(
        rows,
        key=lambda row: shuffle_rank(study_id, item.item_id, annotator, row[1], row[2] or 0),
    )
    lettered = [(letter(index), row) for index, row in enumerate(ranked)]
    shown = [
        (name, row)
        for name, row in lettered
        if (model is None or row[1] == model) and (answers is None or row[0] in answers)
    ]
    hidden = not shown or any(row[6] is None for _, row in shown)
    shown_answers = tuple(
        QueueAnswer(
            generation_id=gid,
            letter=name,
            model=None if hidden else spec,
            repeat=None if hidden else (repeat or 0),
            output_text=output_text or "",
            audio_hash=audio_hash,
            transcript=transcript,
            relevance=relevance,
            comment=comment,
            spec=None if hidden else resolved_spec,
        )
        for name, (
            gid,
            spec,
            repeat,
            output_text,
            audio_hash,
            transcript,
            relevance,
            comment,
            resolved_spec,
        ) in shown
    )
    return QueueItem(**vars(item), answers=shown_answers, names_hidden=hidden)

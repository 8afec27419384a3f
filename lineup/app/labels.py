"""What people say of the answers: labels and the labeling queue, and the arena's pairwise
votes."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from lineup.app.part import Part
from lineup.store import Label
from lineup.study import (
    ArenaPair,
    ArenaQueue,
    ArenaView,
    LabelQueue,
    QueueItem,
    arena_queue,
    arena_view,
)
from lineup.study import label_queue as read_label_queue
from lineup.study import queue_item as read_queue_item
from lineup.study import vote as arena_vote


class Labels(Part):
    """What people say of the answers: labels and the labeling queue, and the arena's pairwise
    votes."""

    def add(
        self, generation_id: int, relevance: str, *, annotator: str, comment: str | None = None
    ) -> int:
        """Write a label now; StoreError when the generation cannot be labeled (it is not a
        complete answer, there is no such generation, the relevance or name is refused)."""
        return self.store.add_label(generation_id, relevance, annotator=annotator, comment=comment)

    def current(self, generation_ids: Iterable[int], annotator: str) -> dict[int, Label]:
        """The label that counts (the latest) of this annotator on each of these generations."""
        return self.store.current_labels(generation_ids, annotator)

    def queue(
        self,
        study_id: int,
        annotator: str,
        *,
        model: str | None = None,
        unlabeled_only: bool = False,
        disputed: bool = False,
    ) -> LabelQueue:
        """A study's items with complete answers, in order, and this annotator's progress
        (within the filters: one model's answers, items with unlabeled answers only, the
        answers the study's latest judge disputes: `scores.disputed`). The queue's `answers`
        are the ones the disputed filter keeps (None without it): give them to `queue_item`."""
        answers = list(self._app.scores.disputed(study_id)) if disputed else None
        return read_label_queue(
            self.store,
            study_id,
            annotator,
            model=model,
            unlabeled_only=unlabeled_only,
            answers=answers,
        )

    def queue_item(
        self,
        study_id: int,
        number: int,
        annotator: str,
        *,
        model: str | None = None,
        answers: Collection[int] | None = None,
    ) -> QueueItem | None:
        """Item `number` (from 1) of a study with its complete answers (of `model`, among
        `answers`, when given: a queue's own), blind and shuffled for this annotator until
        they have labeled them all, with their own labels and comments only; None when the
        study has no such item. Labels are written with `labels.add`."""
        return read_queue_item(
            self.store, study_id, number, annotator, model=model, answers=answers
        )

    def arena_queue(self, study_id: int, annotator: str) -> ArenaQueue:
        """The study's pairs of answers (two models, one item) in this annotator's order, blind,
        with their current votes; InputError when there is no such study. lineup.study.arena."""
        return arena_queue(self.store, study_id, annotator)

    def arena_view(self, study_id: int, pair: ArenaPair) -> ArenaView | None:
        """The pair's item and its two answers as A and B; None when they are gone."""
        return arena_view(self.store, study_id, pair)

    def vote(
        self, study_id: int, annotator: str, generation_a: int, generation_b: int, verdict: str
    ) -> int:
        """Store a vote now (`a`, `b`, `tie` or `both_bad` on the answers shown as A and B);
        the latest of an annotator on a pair counts. InputError, with nothing stored, for a
        bad verdict, name or pair."""
        return arena_vote(self.store, study_id, annotator, generation_a, generation_b, verdict)

"""Pairwise votes: the labeling queue's arena mode (two blind answers to one item) and the
ranking the votes give.

Definitions (one place for each):

- answer of a model on an item: the model's first complete (`ok`) answer to the item, the one
  of its lowest repeat. A model with no `ok` answer to an item has none there.
- pair: for each item of a study, each unordered pair of two of the study's models that both
  have an answer to it; a pair is named by its two answers (generation ids). A study of I
  items and M models whose answers are all complete has I × M (M - 1) / 2 pairs; every pair
  with a model that has no answer is left out. VLM answers are texts; voice answers are
  clips (with what the STT model heard), voted on the same way.
- order and sides: an annotator's pairs are ordered by a hash (SHA-256) of (study,
  annotator, item, the two models), across the whole study, and the hash also says which
  answer is shown as A and which as B. So a reload shows the same pairs in the same order on
  the same sides, another annotator gets another order and other sides, and a pair that
  arrives later (a study still running) slips in without reordering the others. The queue is
  blind: it gives answer texts and ids only, never the models.
- vote: an annotator's verdict on a pair shown as A and B: `a` (A better), `b` (B better),
  `tie` or `both_bad`. Every vote is stored; an annotator's latest vote (greatest id) on a
  pair, whichever side each answer was shown on, is the one that counts (their current
  vote), and is read in the sides the queue shows now. A vote may name any two `ok` answers
  of the study to the same item by two different models (through the facade a later repeat
  may be voted on; it is then a pair of its own).
- battle: each counted vote is one comparison of the two answers' models: `a` is a win for
  A's model, `b` a win for B's, and `tie` and `both_bad` are both a tie, half a win for each
  (both bad says neither answer is better than the other, which is what a tie measures;
  how bad both are is the relevance labels' business).
- arena rating, interval and rank: lineup.measure.bradley_terry's Bradley-Terry fit of the battles
  (maximum likelihood, ties as half wins, the same small penalty and Elo-like scale), its
  95% percentile bootstrap interval from BOOTSTRAP_RESAMPLES (1,000) resamples with
  replacement of the items that have a counted vote (all of an item's battles go together),
  with a fixed seed (0); none from votes on fewer than MIN_ITEMS (5) items, nor for a model
  that won or lost every vote; rank = 1 + the number of models shown better than this one
  (the paired difference of ratings over the same resamples excludes 0) or than a model
  rated at least as high (lineup.measure.pairs), so a rank never runs against the ratings.
- votes (`arena_votes`): the counted votes that involve the model, over every annotator. A
  model with none has no rating, interval or rank (None).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import aliased

from lineup.core import N_, OK, InputError, TextMessages, _, check_text
from lineup.measure import BOOTSTRAP_RESAMPLES, LOSS, TIE, WIN, Battle, bootstrap_battles
from lineup.store import (
    ANNOTATOR_MAX_CHARS,
    VOTE_A,
    VOTE_B,
    VOTES,
    Generation,
    PairwiseVote,
    SetItemRow,
    Store,
)
from lineup.study.answers import study_answers
from lineup.study.queue import ShownItem, read_shown_item
from lineup.study.records import StudyInfo, study_info

# The two answers of a pair, lower generation id first: a pair's name whatever its sides.
PairKey = tuple[int, int]
OUTCOME = {VOTE_A: WIN, VOTE_B: LOSS}  # A's outcome; any other verdict is a TIE
SWAPPED = {VOTE_A: VOTE_B, VOTE_B: VOTE_A}  # a verdict seen from the other sides


def pair_key(generation_x: int, generation_y: int) -> PairKey:
    """The name of the pair of these two answers, whichever is shown as A."""
    return (
        (generation_x, generation_y)
        if generation_x < generation_y
        else (generation_y, generation_x)
    )


def pair_hash(study_id: int, annotator: str, item_id: int, model_x: str, model_y: str) -> str:
    """Where a pair stands in this annotator's order (and, by its last hex digit, its sides):
    the same for the two models in either order, stable on every reload."""
    first, second = sorted((model_x, model_y))
    key = f"{study_id}:{annotator}:{item_id}:{first}:{second}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ArenaPair:
    """One pair as this annotator's queue shows it: blind, its answers by id and side."""

    item_id: int
    number: int  # the item's number in the set's order, from 1
    generation_a: int  # shown as A
    generation_b: int  # shown as B
    vote: str | None  # this annotator's current vote, in these sides' terms (`a` = A better)

    @property
    def key(self) -> PairKey:
        return pair_key(self.generation_a, self.generation_b)


@dataclass(frozen=True)
class ArenaQueue:
    """A study's pairs in one annotator's order, their votes, and how to move through them.
    Positions count from 1."""

    study_id: int
    annotator: str
    pairs: tuple[ArenaPair, ...]

    @property
    def total(self) -> int:
        return len(self.pairs)

    @property
    def voted(self) -> int:
        """Pairs this annotator has a vote on."""
        return sum(pair.vote is not None for pair in self.pairs)

    def pair(self, position: int) -> ArenaPair | None:
        return self.pairs[position - 1] if 1 <= position <= len(self.pairs) else None

    def position_of(self, key: PairKey) -> int | None:
        """Where the pair of these two answers stands; None when it is not in the queue."""
        return next(
            (index for index, pair in enumerate(self.pairs, start=1) if pair.key == key), None
        )

    def start(self) -> int | None:
        """The pair to open first: the first without a vote, else the first; None when the
        study has no pair."""
        return self.next_unvoted(None) or (1 if self.pairs else None)

    def next(self, position: int) -> int | None:
        return position + 1 if position < len(self.pairs) else None

    def previous(self, position: int) -> int | None:
        return position - 1 if position > 1 and self.pairs else None

    def next_unvoted(self, position: int | None) -> int | None:
        """The next pair after this one without a vote, going round to the first after the
        last (which may bring it back to this one); None when every pair has a vote."""
        pending = [index for index, pair in enumerate(self.pairs, start=1) if pair.vote is None]
        if not pending:
            return None
        after = [index for index in pending if position is None or index > position]
        return after[0] if after else pending[0]


@dataclass(frozen=True)
class ArenaAnswer:
    """One side of a pair: the answer's text, or its clip and what was heard in it."""

    generation_id: int
    side: str  # "A" or "B"
    output_text: str
    audio_hash: str | None
    transcript: str | None

    @property
    def title(self) -> str:
        return _("Answer {side}").format(side=self.side)


@dataclass(frozen=True)
class ArenaView:
    """One pair ready to draw: its item, its answers as A and B, this annotator's vote."""

    item: ShownItem  # the item the pair answers
    a: ArenaAnswer
    b: ArenaAnswer
    vote: str | None


class ArenaRating(NamedTuple):
    """A model's arena figures (module docstring); None figures for a model with no vote."""

    rating: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    battles: int  # the counted votes it is in (`arena_votes`)


def _study(store: Store, study_id: int) -> StudyInfo:
    info = study_info(store, study_id)
    if info is None:
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
    return info


def _first_answers(store: Store, study_id: int) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (item, model), its answer (generation id) and the item's position in the set. One
    query over the study's own index of answers; the state is read, not filtered on (a
    filter on it would tempt SQLite to walk every `ok` answer of every study)."""
    with store.session() as session:
        rows = session.execute(
            study_answers(
                study_id,
                Generation.id,
                Generation.item_id,
                Generation.model_spec,
                Generation.repeat,
                Generation.status,
                SetItemRow.position,
                with_item="inner",
            ).order_by(Generation.repeat, Generation.id)
        ).all()
    first: dict[tuple[int, str], tuple[int, int]] = {}
    for gid, item_id, model, _repeat, status, position in rows:
        if status == OK and item_id is not None:
            first.setdefault((item_id, model), (gid, position))
    return first


def _current_votes(store: Store, study_id: int, annotator: str) -> dict[PairKey, tuple[int, str]]:
    """This annotator's latest vote on each pair: (the answer shown as A, the verdict)."""
    latest: dict[PairKey, tuple[int, str]] = {}
    with store.session() as session:
        for generation_a, generation_b, verdict in session.execute(
            select(PairwiseVote.generation_a, PairwiseVote.generation_b, PairwiseVote.verdict)
            .where(PairwiseVote.study_id == study_id, PairwiseVote.annotator == annotator)
            .order_by(PairwiseVote.id)
        ):
            latest[pair_key(generation_a, generation_b)] = (generation_a, verdict)
    return latest


def _seen_from(verdict: str, voted_a: int, shown_a: int) -> str:
    """A verdict given with `voted_a` as A, as it reads with `shown_a` as A."""
    return verdict if voted_a == shown_a else SWAPPED.get(verdict, verdict)


def arena_queue(store: Store, study_id: int, annotator: str) -> ArenaQueue:
    """The study's pairs in this annotator's order with their current votes (two queries).
    InputError when there is no such study."""
    info = _study(store, study_id)
    annotator = annotator.strip()
    answers = _first_answers(store, study_id)
    by_item: dict[int, list[tuple[str, int, int]]] = {}
    for (item_id, model), (gid, position) in answers.items():
        by_item.setdefault(item_id, []).append((model, gid, position))
    ranked: list[tuple[str, ArenaPair]] = []
    votes = _current_votes(store, study_id, annotator) if annotator else {}
    for item_id, models in by_item.items():
        models.sort(key=lambda entry: entry[0])
        for index, (model_x, gid_x, position) in enumerate(models):
            for model_y, gid_y, _position in models[index + 1 :]:
                rank = pair_hash(info.id, annotator, item_id, model_x, model_y)
                shown_a, shown_b = (gid_y, gid_x) if int(rank[-1], 16) % 2 else (gid_x, gid_y)
                current = votes.get(pair_key(gid_x, gid_y))
                vote = None if current is None else _seen_from(current[1], current[0], shown_a)
                ranked.append((rank, ArenaPair(item_id, position + 1, shown_a, shown_b, vote)))
    ranked.sort(key=lambda entry: entry[0])
    return ArenaQueue(info.id, annotator, tuple(pair for _, pair in ranked))


def arena_view(store: Store, study_id: int, pair: ArenaPair) -> ArenaView | None:
    """The pair's item and its two answers as A and B (two queries); None when the study
    has no such answers any more."""
    with store.session() as session:
        item = read_shown_item(session, study_id, SetItemRow.id == pair.item_id)
        if item is None:
            return None
        rows = {
            gid: (text, audio_hash, transcript)
            for gid, text, audio_hash, transcript in session.execute(
                select(
                    Generation.id,
                    Generation.output_text,
                    Generation.audio_hash,
                    Generation.transcript,
                ).where(
                    Generation.id.in_((pair.generation_a, pair.generation_b)),
                    Generation.study_id == study_id,
                    Generation.status == OK,
                )
            )
        }
    if len(rows) != 2:
        return None

    def answer(gid: int, side: str) -> ArenaAnswer:
        text, audio_hash, transcript = rows[gid]
        return ArenaAnswer(gid, side, text or "", audio_hash, transcript)

    return ArenaView(
        item=item,
        a=answer(pair.generation_a, "A"),
        b=answer(pair.generation_b, "B"),
        vote=pair.vote,
    )


ANNOTATOR_TEXT = TextMessages(
    empty=N_("The annotator name is empty: give the name your votes are stored under."),
    too_long=N_(
        "The annotator name is {length} characters long, over the limit of {limit}. Shorten it."
    ),
    nul=N_("The annotator name holds a NUL character (\\0). Remove it."),
    not_utf8=N_(
        "The annotator name holds bytes that are not UTF-8 text. Save or type it as UTF-8."
    ),
)


def check_annotator(annotator: str) -> str:
    """The annotator's name, stripped; InputError when empty or too long."""
    return check_text(annotator, messages=ANNOTATOR_TEXT, max_chars=ANNOTATOR_MAX_CHARS)


def vote(
    store: Store,
    study_id: int,
    annotator: str,
    generation_a: int,
    generation_b: int,
    verdict: str,
) -> int:
    """Store a vote on two answers shown as A and B (the module docstring says which votes
    count); its id. InputError, with nothing stored, for an unknown study, a verdict not in
    VOTES, an empty or too long name, or answers that are not two complete answers of the
    study to the same item by two different models."""
    _study(store, study_id)
    if verdict not in VOTES:
        raise InputError(
            _(
                "A vote is one of {votes} (A better, B better, a tie, both bad), not {verdict}."
            ).format(votes=", ".join(VOTES), verdict=repr(verdict))
        )
    annotator = check_annotator(annotator)
    if generation_a == generation_b:
        raise InputError(
            _(
                "A vote compares two different answers; both sides are generation {generation}."
            ).format(generation=generation_a)
        )
    with store.session() as session:
        found = {
            gid: (study, item_id, model, status)
            for gid, study, item_id, model, status in session.execute(
                select(
                    Generation.id,
                    Generation.study_id,
                    Generation.item_id,
                    Generation.model_spec,
                    Generation.status,
                ).where(Generation.id.in_((generation_a, generation_b)))
            )
        }
        for gid in (generation_a, generation_b):
            if gid not in found:
                raise InputError(
                    _("There is no generation {generation_id}.").format(generation_id=gid)
                )
            study, _item, _model, status = found[gid]
            if study != study_id:
                raise InputError(
                    _("Generation {generation} is not an answer of study {study}.").format(
                        generation=gid, study=study_id
                    )
                )
            if status != OK:
                raise InputError(
                    _(
                        "Generation {generation} is `{status}`, not a complete answer: only "
                        "complete (`ok`) answers can be voted on."
                    ).format(generation=gid, status=status)
                )
        _study_a, item_a, model_a, _status_a = found[generation_a]
        _study_b, item_b, model_b, _status_b = found[generation_b]
        if item_a != item_b or item_a is None:
            raise InputError(
                _(
                    "Generations {a} and {b} answer different items: a vote compares two "
                    "answers to the same item."
                ).format(a=generation_a, b=generation_b)
            )
        if model_a == model_b:
            raise InputError(
                _(
                    "Generations {a} and {b} are answers of the same model: a vote compares two "
                    "models."
                ).format(a=generation_a, b=generation_b)
            )
        row = PairwiseVote(
            study_id=study_id,
            item_id=item_a,
            annotator=annotator,
            generation_a=generation_a,
            generation_b=generation_b,
            verdict=verdict,
        )
        session.add(row)
        session.flush()
        return row.id


class VoteRow(NamedTuple):
    """One stored vote with the models of its two answers."""

    vote_id: int
    item_id: int
    annotator: str
    generation_a: int  # shown as A
    generation_b: int  # shown as B
    model_a: str
    model_b: str
    verdict: str


def battles_from_votes(votes: Iterable[VoteRow]) -> dict[int, list[Battle]]:
    """Per item (by id, in order), the battles of the counted votes: each annotator's latest
    vote (greatest id) on each pair, as (A's model, B's model, A's outcome), in vote order."""
    latest: dict[tuple[str, PairKey], VoteRow] = {}
    for row in sorted(votes):  # by id: a later vote replaces an earlier one
        latest[(row.annotator, pair_key(row.generation_a, row.generation_b))] = row
    per_item: dict[int, list[Battle]] = {}
    for row in sorted(latest.values(), key=lambda row: (row.item_id, row.vote_id)):
        outcome = OUTCOME.get(row.verdict, TIE)
        per_item.setdefault(row.item_id, []).append((row.model_a, row.model_b, outcome))
    return per_item


def study_votes(store: Store, study_id: int) -> list[VoteRow]:
    """Every stored vote of the study on two answers that are still complete, with their
    models; one query."""
    answer_a, answer_b = aliased(Generation), aliased(Generation)
    with store.session() as session:
        rows = session.execute(
            select(
                PairwiseVote.id,
                PairwiseVote.item_id,
                PairwiseVote.annotator,
                PairwiseVote.generation_a,
                PairwiseVote.generation_b,
                answer_a.model_spec,
                answer_b.model_spec,
                PairwiseVote.verdict,
            )
            .join(answer_a, answer_a.id == PairwiseVote.generation_a)
            .join(answer_b, answer_b.id == PairwiseVote.generation_b)
            .where(
                PairwiseVote.study_id == study_id,
                answer_a.status == OK,
                answer_b.status == OK,
            )
            .order_by(PairwiseVote.id)
        ).all()
    return [VoteRow(*row) for row in rows]


def arena_ranking(
    store: Store, study_id: int, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[str, ArenaRating]:
    """Every model of the study with its arena figures (module docstring): the rated ones
    best first, then those without a vote in the study's order. InputError when there is no
    such study."""
    info = _study(store, study_id)
    per_item = battles_from_votes(study_votes(store, study_id))
    battles = Counter(model for item in per_item.values() for a, b, _ in item for model in (a, b))
    ranking = {
        model: ArenaRating(rated.rating, rated.ci_low, rated.ci_high, rated.rank, battles[model])
        for model, rated in bootstrap_battles(per_item, resamples=resamples, seed=seed).items()
    }
    for model in info.models:
        ranking.setdefault(model, ArenaRating(None, None, None, None, 0))
    return ranking

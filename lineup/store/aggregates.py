"""The aggregates of the leaderboards, read from indexes alone, and the WER sums that the
leaderboards and the study tables select: one definition each, so the figures made from them
cannot drift apart.

Each query reads one index of lineup.store.tables and the columns it needs, never whole rows,
and returns a handful of numbers; the same SQL runs on SQLite and PostgreSQL (lineup.measure
says what each figure is). A median is the middle one or two values of a partial index that
holds exactly the rows it counts, in order: a walk to the middle, no sort. (A leaderboard
filtered by study, set, tag or dates reads the rows it keeps instead: lineup.leaderboard's
counts. One filtered by annotator alone uses these, `annotator` set.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text

from lineup.core import OK
from lineup.measure import ScoredClips
from lineup.store.engine import Sessions
from lineup.store.tables import (
    COLD,
    MEDIAN_GROUPS,
    WER_WITHOUT_TRANSCRIPT,
    Generation,
    Label,
    ok_rows_with,
    rows_without,
    warm_rows_with,
)


def wer_sums() -> tuple[ColumnElement[Any], ...]:
    """The WER sums over the selected clips, in the order `ScoredClips.from_sums` takes them:
    the clips, the sum of their WERs and of their squares, the clips with a CER and the sum
    of those, and the sums of word errors and reference words (lineup.measure.voices)."""
    return (
        func.count(),
        func.sum(Generation.wer),
        func.sum(Generation.wer * Generation.wer),
        func.count(Generation.cer),
        func.sum(Generation.cer),
        func.sum(Generation.word_errors),
        func.sum(Generation.reference_words),
    )


def rows_with(*columns: str) -> ColumnElement[bool]:
    """The `ok` generations with a value in each of `columns`, in the very words of their
    partial index's predicate (lineup.store.tables.ok_rows_with): SQLite uses the index only
    then."""
    return and_(text(ok_rows_with(*columns)))


def warm_rows(*columns: str) -> ColumnElement[bool]:
    """The warm `ok` generations with a value in each of `columns` (a speed median's rows), in
    the very words of their index's predicate (lineup.store.tables.warm_rows_with)."""
    return and_(text(warm_rows_with(*columns)))


@dataclass(frozen=True)
class KindScope:
    """The model specs of one kind (sorted) and their generations by state (Store.kind_scope);
    the annotator whose labels alone count, if one is given."""

    kind: str
    specs: tuple[str, ...]
    status_counts: dict[str, dict[str, int]]
    annotator: str | None = None

    def rows_of(self, spec: str) -> list[ColumnElement[bool]]:
        """The conditions that select the generations of `spec` of this kind."""
        return [Generation.kind == self.kind, Generation.model_spec == spec]


class Aggregates(Sessions):
    """Store's aggregates (lineup.store.database.Store is made of these parts)."""

    def kind_scope(self, kind: str, *, annotator: str | None = None) -> KindScope:
        """The model specs with generations of `kind` (sorted) and their generations by state:
        one walk of the index of (kind, spec, state). With `annotator`, only that annotator's
        labels count (latest_label_counts)."""
        query = (
            select(Generation.model_spec, Generation.status, func.count())
            .where(Generation.kind == kind)
            .group_by(Generation.model_spec, Generation.status)
        )
        counts: dict[str, dict[str, int]] = {}
        with self.session() as session:
            for spec, status, n in session.execute(query):
                counts.setdefault(spec, {})[status] = n
        return KindScope(kind, tuple(sorted(counts)), counts, annotator)

    def middle_values(
        self, scope: KindScope, spec: str, columns: Sequence[str], present: Sequence[str]
    ) -> tuple[int, dict[str, list[float]]]:
        """How many warm `ok` generations of `spec` (not known to be cold) have a value in every
        column of `present` (a group of lineup.store.tables.MEDIAN_GROUPS), and for each of
        `columns` the middle one (odd count) or two (even count) of its values among them.

        The count is the `ok` count of the scope minus the few `ok` rows that lack one of
        `present` or are cold (their own small index); then a walk to the middle of each
        column's index.
        """
        if tuple(present) not in MEDIAN_GROUPS.get(scope.kind, ()):
            raise ValueError(f"No median of {scope.kind} rows over {tuple(present)}.")
        where = [*scope.rows_of(spec), warm_rows(*present)]
        middles: dict[str, list[float]] = {}
        with self.session() as session:
            lacking = session.scalar(
                select(func.count())
                .select_from(Generation)
                .where(
                    *scope.rows_of(spec),
                    and_(text(rows_without(scope.kind, *present))),
                    Generation.status == OK,
                )
            )
            n = max(scope.status_counts.get(spec, {}).get(OK, 0) - (lacking or 0), 0)
            for column in columns:
                value = Generation.__table__.c[column]
                middles[column] = (
                    [
                        float(v)
                        for v in session.scalars(
                            select(value)
                            .where(*where)
                            .order_by(value)
                            .offset((n - 1) // 2)
                            .limit(2 - n % 2)
                        )
                    ]
                    if n
                    else []
                )
        return n, middles

    def cold_values(
        self, scope: KindScope, spec: str, columns: Sequence[str]
    ) -> list[tuple[float | None, ...]]:
        """The values of `columns` of each cold `ok` generation of `spec` (normally few: their
        own index finds them), shown apart from the speed medians."""
        values = [Generation.__table__.c[column] for column in columns]
        with self.session() as session:
            return [
                tuple(None if v is None else float(v) for v in row)
                for row in session.execute(
                    select(*values).where(
                        *scope.rows_of(spec), Generation.status == OK, and_(text(COLD))
                    )
                )
            ]

    def largest_value(
        self, scope: KindScope, spec: str, column: str, *, smallest: bool = False
    ) -> float | None:
        """The largest (or the smallest) value of `column` over the `ok` generations of
        `spec`: one end of its index."""
        value = Generation.__table__.c[column]
        extreme = func.min(value) if smallest else func.max(value)
        with self.session() as session:
            largest = session.scalar(select(extreme).where(*scope.rows_of(spec), rows_with(column)))
        return None if largest is None else float(largest)

    def latest_label_counts(self, scope: KindScope) -> dict[str, dict[str, int]]:
        """Per spec and relevance: the labels that count (Label.counted: each annotator's
        latest on each `ok` generation), from their index alone; for a scope with an
        annotator, that annotator's only (their rows read to check the name)."""
        query = (
            select(Label.model_spec, Label.relevance, func.count())
            .where(Label.kind == scope.kind, text("counted"))
            .group_by(Label.model_spec, Label.relevance)
        )
        if scope.annotator is not None:
            query = query.where(Label.annotator == scope.annotator)
        counts: dict[str, dict[str, int]] = {spec: {} for spec in scope.specs}
        with self.session() as session:
            for spec, relevance, n in session.execute(query):
                counts.setdefault(spec, {})[relevance] = n
        return counts

    def scored_clips(self, scope: KindScope, spec: str) -> ScoredClips:
        """The `ok` clips of `spec` with a WER and a transcript: their number and sums, in one
        walk of the index of WERs (lineup.measure.voices turns them into figures)."""
        where = [*scope.rows_of(spec), rows_with("wer")]
        with self.session() as session:
            # Normally every WER comes with its transcript, and the index of WERs holds the
            # scored clips exactly; a clip stored with a WER and no transcript (none is written
            # so) would need each row's transcript read. Only an empty index answers this.
            incomplete = session.scalar(
                select(func.count())
                .select_from(Generation)
                .where(*scope.rows_of(spec), and_(text(WER_WITHOUT_TRANSCRIPT)))
            )
            if incomplete:
                where.append(Generation.transcript.is_not(None))
            sums = session.execute(select(*wer_sums()).where(*where)).one()
        return ScoredClips.from_sums(*sums)

"""The counts a leaderboard's figures are made from, over every generation of a kind or over
the generations a filter keeps (lineup.leaderboard.filters says what each filter keeps).

Cost (measured on SQLite at a million generations of each kind, 2 cores, other work running;
lineup.store says how the unfiltered leaderboard reads its indexes):

- No filter: the unfiltered leaderboard's queries, exactly (IndexCounts; 0.4-0.9 s).
- status or annotator alone: the same index-only queries (IndexCounts). The status keeps the
  counts of its states in Python (0.3-0.9 s); the annotator's labels are the counted ones with
  their rows read to check the name (1.0-1.6 s).
- study, set or tag (with any other filter): SQL aggregation over the kept rows
  (FilteredCounts): the runs from the index of (study, item), their generations from the index
  of (run, spec), each kept row read once per figure; medians by window functions that sort
  each model's kept values. The tagged items are read from the set items in Python (at most
  10,000 per set; a JSON list is read the same on SQLite and PostgreSQL). A study of 1,000
  items and six models: 0.05-0.2 s.
- since/until without a study, set or tag: no index holds started_at, so each figure's query
  reads the whole table (2 M rows here): 5-6 s for one day, 16-17 s for a range that keeps
  most rows (the medians sort them). An index of generations on (kind, started_at) would make
  short ranges fast; it needs a migration and is not made here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, or_, select, text

from lineup.core import OK
from lineup.leaderboard.choices import set_row, study_row
from lineup.leaderboard.filters import LeaderboardFilter, states_of
from lineup.measure import ScoredClips
from lineup.store import (
    MEDIAN_GROUPS,
    Generation,
    Label,
    QuestionSet,
    Run,
    SetItemRow,
    Store,
    Study,
    wer_sums,
)

_NO_CLIPS = ScoredClips.from_sums(0, None, None, 0, None, None, None)


class LeaderboardCounts(Protocol):
    """What a leaderboard's figures are made from (lineup.leaderboard.boards turns them into
    rows): the model specs, their generations by state, the counted labels by relevance, the
    middle values of each median, the WER sums and the largest value."""

    @property
    def specs(self) -> tuple[str, ...]: ...

    @property
    def status_counts(self) -> Mapping[str, Mapping[str, int]]: ...

    def label_counts(self) -> dict[str, dict[str, int]]: ...

    def middle_values(
        self, spec: str, columns: Sequence[str], present: Sequence[str]
    ) -> tuple[int, dict[str, list[float]]]: ...

    def scored_clips(self, spec: str) -> ScoredClips: ...

    def largest_value(self, spec: str, column: str, *, smallest: bool = False) -> float | None: ...

    def cold_values(self, spec: str, columns: Sequence[str]) -> list[tuple[float | None, ...]]: ...


def _kept_states(
    counts: Mapping[str, Mapping[str, int]], states: tuple[str, ...] | None
) -> dict[str, dict[str, int]]:
    """The counts of the states a status filter keeps; specs left with none are dropped."""
    kept = {
        spec: {state: n for state, n in by_state.items() if states is None or state in states}
        for spec, by_state in counts.items()
    }
    return {spec: by_state for spec, by_state in kept.items() if by_state}


class IndexCounts:
    """Every generation of a kind, from the indexes alone (lineup.store, "Frames for the
    metrics"): without a filter the very queries of the unfiltered leaderboard. A status
    filter keeps the counts of its states (the figures are over `ok` answers, all of them
    with `ok`, none with another state); an annotator filter counts that annotator's labels.
    """

    def __init__(
        self, store: Store, kind: str, *, status: str | None = None, annotator: str | None = None
    ) -> None:
        self.store = store
        self.scope = store.kind_scope(kind, annotator=annotator)
        states = None if status is None else states_of(status)
        self._figures = states is None or OK in states
        self._counts = _kept_states(self.scope.status_counts, states)

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(sorted(self._counts))

    @property
    def status_counts(self) -> Mapping[str, Mapping[str, int]]:
        return self._counts

    def label_counts(self) -> dict[str, dict[str, int]]:
        if not self._figures:
            return {spec: {} for spec in self.specs}
        return self.store.latest_label_counts(self.scope)

    def middle_values(
        self, spec: str, columns: Sequence[str], present: Sequence[str]
    ) -> tuple[int, dict[str, list[float]]]:
        if not self._figures:
            return 0, {column: [] for column in columns}
        return self.store.middle_values(self.scope, spec, columns, present)

    def scored_clips(self, spec: str) -> ScoredClips:
        return self.store.scored_clips(self.scope, spec) if self._figures else _NO_CLIPS

    def largest_value(self, spec: str, column: str, *, smallest: bool = False) -> float | None:
        if not self._figures:
            return None
        return self.store.largest_value(self.scope, spec, column, smallest=smallest)

    def cold_values(self, spec: str, columns: Sequence[str]) -> list[tuple[float | None, ...]]:
        return self.store.cold_values(self.scope, spec, columns) if self._figures else []


def _column(name: str) -> ColumnElement[Any]:
    return Generation.__table__.c[name]


class FilteredCounts:
    """The generations a study, set, tag or date filter keeps (with its status and annotator
    filters), read with SQL aggregation: one GROUP BY query per figure (counts, labels, WER
    sums, largest value) and one per median group, whose window functions rank each model's
    kept values and return the middle one or two. Computed when first asked for.

    The state is grouped on, never a condition: a condition on it would let the database walk
    the index of states (every `ok` row of the store) instead of the rows the filter keeps.
    """

    def __init__(self, store: Store, kind: str, leaderboard_filter: LeaderboardFilter) -> None:
        f = leaderboard_filter
        self.store = store
        self.kind = kind
        self.annotator = f.annotator
        self.where = _kept_generations(store, kind, f)
        states = None if f.status is None else states_of(f.status)
        self._figures = self.where is not None and (states is None or OK in states)
        counts: dict[str, dict[str, int]] = {}
        if self.where is not None:
            query = (
                select(Generation.model_spec, Generation.status, func.count())
                .where(*self.where)
                .group_by(Generation.model_spec, Generation.status)
            )
            with store.session() as session:
                for spec, state, n in session.execute(query):
                    counts.setdefault(spec, {})[state] = int(n)
        self._counts = _kept_states(counts, states)
        self._middles: dict[tuple[str, ...], dict[str, tuple[int, dict[str, list[float]]]]] = {}
        self._scored: dict[str, ScoredClips] | None = None
        self._largest: dict[str, dict[str, float]] = {}

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(sorted(self._counts))

    @property
    def status_counts(self) -> Mapping[str, Mapping[str, int]]:
        return self._counts

    def _kept_with(self, *present: str) -> list[ColumnElement[bool]]:
        """The kept generations (in any state) with a value in each of `present`."""
        assert self.where is not None
        return [*self.where, *(_column(name).is_not(None) for name in present)]

    def label_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {spec: {} for spec in self.specs}
        if not self._figures:
            return counts
        # From the kept generations to their labels (by the index of counted labels by
        # generation), not the other way: the filter is what narrows the rows. A counted
        # label is on an `ok` generation, so no state needs naming.
        kept = select(Generation.id).where(*self._kept_with())
        query = (
            select(Label.model_spec, Label.relevance, func.count())
            .where(Label.generation_id.in_(kept), text("counted"))
            .group_by(Label.model_spec, Label.relevance)
        )
        if self.annotator is not None:
            query = query.where(Label.annotator == self.annotator)
        with self.store.session() as session:
            for spec, relevance, n in session.execute(query):
                counts.setdefault(spec, {})[relevance] = int(n)
        return counts

    def middle_values(
        self, spec: str, columns: Sequence[str], present: Sequence[str]
    ) -> tuple[int, dict[str, list[float]]]:
        """How many kept warm `ok` generations of `spec` have every column of `present`, and
        the middle one or two values of each of `columns` among them (Store.middle_values)."""
        if tuple(present) not in MEDIAN_GROUPS.get(self.kind, ()):
            raise ValueError(f"No median of {self.kind} rows over {tuple(present)}.")
        nothing: tuple[int, dict[str, list[float]]] = (0, {column: [] for column in columns})
        if not self._figures:
            return nothing
        key = (*present, "|", *columns)
        if key not in self._middles:
            self._middles[key] = self._middle_rows(columns, present)
        return self._middles[key].get(spec, nothing)

    def _middle_rows(
        self, columns: Sequence[str], present: Sequence[str]
    ) -> dict[str, tuple[int, dict[str, list[float]]]]:
        """Per spec, from one query: each (spec, state) group's values of each column ranked
        in order, and the rows holding a middle rank; the `ok` groups' are kept."""
        group = (Generation.model_spec, Generation.status)
        ranked = (
            select(
                Generation.model_spec.label("spec"),
                Generation.status.label("state"),
                func.count().over(partition_by=group).label("n"),
                *(_column(c).label(f"value_{i}") for i, c in enumerate(columns)),
                *(
                    func.row_number()
                    .over(partition_by=group, order_by=_column(c))
                    .label(f"rank_{i}")
                    for i, c in enumerate(columns)
                ),
            )
            .where(*self._kept_with(*present), Generation.cold.is_not(True))
            .subquery()
        )
        n = ranked.c.n
        # The middle one (odd n: both bounds are the same rank) or two (even n) of the ranks.
        middle = [(n + 1) // 2, n // 2 + 1]
        query = select(ranked).where(
            or_(*(ranked.c[f"rank_{i}"].in_(middle) for i in range(len(columns))))
        )
        found: dict[str, tuple[int, dict[str, list[tuple[int, float]]]]] = {}
        with self.store.session() as session:
            for row in session.execute(query).mappings():
                if row["state"] != OK:
                    continue
                count = int(row["n"])
                _, middles = found.setdefault(row["spec"], (count, {c: [] for c in columns}))
                for i, column in enumerate(columns):
                    rank = int(row[f"rank_{i}"])
                    if rank in ((count + 1) // 2, count // 2 + 1):
                        middles[column].append((rank, float(row[f"value_{i}"])))
        return {
            spec: (count, {c: [v for _, v in sorted(values)] for c, values in middles.items()})
            for spec, (count, middles) in found.items()
        }

    def scored_clips(self, spec: str) -> ScoredClips:
        """Sums over the kept `ok` clips of `spec` with a WER and a transcript."""
        if not self._figures:
            return _NO_CLIPS
        if self._scored is None:
            query = (
                select(Generation.model_spec, Generation.status, *wer_sums())
                .where(*self._kept_with("wer", "transcript"))
                .group_by(Generation.model_spec, Generation.status)
            )
            with self.store.session() as session:
                self._scored = {
                    row[0]: ScoredClips.from_sums(*row[2:])
                    for row in session.execute(query)
                    if row[1] == OK
                }
        return self._scored.get(spec, _NO_CLIPS)

    def cold_values(self, spec: str, columns: Sequence[str]) -> list[tuple[float | None, ...]]:
        """The values of `columns` of each kept cold `ok` generation of `spec`."""
        if not self._figures:
            return []
        query = select(Generation.status, *(_column(c) for c in columns)).where(
            *self._kept_with(), Generation.model_spec == spec, Generation.cold.is_(True)
        )
        with self.store.session() as session:
            return [
                tuple(None if v is None else float(v) for v in row[1:])
                for row in session.execute(query)
                if row[0] == OK
            ]

    def largest_value(self, spec: str, column: str, *, smallest: bool = False) -> float | None:
        """The largest (or the smallest) value of `column` over the kept `ok` generations of
        `spec`."""
        if not self._figures:
            return None
        key = f"{column}:min" if smallest else column
        if key not in self._largest:
            extreme = func.min(_column(column)) if smallest else func.max(_column(column))
            query = (
                select(Generation.model_spec, Generation.status, extreme)
                .where(*self._kept_with(column))
                .group_by(Generation.model_spec, Generation.status)
            )
            with self.store.session() as session:
                self._largest[key] = {
                    spec_name: float(largest)
                    for spec_name, state, largest in session.execute(query)
                    if state == OK and largest is not None
                }
        return self._largest[key].get(spec)


def _kept_generations(
    store: Store, kind: str, f: LeaderboardFilter
) -> list[ColumnElement[bool]] | None:
    """The conditions on generations for the filter's study, set, tag and dates; None when
    no generation of `kind` can pass them (a study or set of the other kind, a tag no item of
    this kind has).

    A study's, set's or tag's generations are found from their runs: the runs by the index of
    (study, item), then their generations by the index of (run, spec). The conditions name no
    kind then (the study's, the set's or the tagged items' sets' kind is checked here), so
    that the database drives the query from those runs and not from every row of the kind.
    """
    runs: list[ColumnElement[bool]] = []
    set_id = None
    if f.study_id is not None:
        found = study_row(store, f.study_id)
        if found is None or found[1] != kind:
            return None
        set_id = found[0]
        runs.append(Run.study_id == f.study_id)
    if f.set_name is not None:
        found = set_row(store, f.set_name)
        if found is None or found[1] != kind or set_id not in (None, found[0]):
            return None
        set_id = found[0]
        runs.append(Run.study_id.in_(select(Study.id).where(Study.set_id == set_id)))
    if f.tag is not None:
        query = (
            select(SetItemRow.id, SetItemRow.set_id, SetItemRow.tags)
            .join(QuestionSet, SetItemRow.set_id == QuestionSet.id)
            .where(QuestionSet.kind == kind)
        )
        if set_id is not None:
            query = query.where(SetItemRow.set_id == set_id)
        with store.session() as session:
            tagged = [
                (item_id, item_set)
                for item_id, item_set, tags in session.execute(query)
                if f.tag in (tags or ())
            ]
        if not tagged:
            return None
        sets = sorted({item_set for _, item_set in tagged})
        items = sorted(item_id for item_id, _ in tagged)
        runs.append(Run.study_id.in_(select(Study.id).where(Study.set_id.in_(sets))))
        # Written into the SQL as numbers: a set holds up to 10,000 items, and a tag may be on
        # the items of many sets, more than a statement may bind as parameters.
        runs.append(
            Run.item_id.in_(bindparam("tagged_items", items, expanding=True, literal_execute=True))
        )
    # Without a study, set or tag, the kind as an expression no index holds: SQLite (which
    # has no statistics) would otherwise look up every row of the kind, half the table, one
    # by one through the index of kinds, instead of reading the table once.
    where: list[ColumnElement[bool]] = (
        [Generation.run_id.in_(select(Run.id).where(*runs))]
        if runs
        else [Generation.kind.concat("") == kind]
    )
    if f.since is not None:
        where.append(Generation.started_at >= f.since)
    if f.until is not None:
        where.append(Generation.started_at < f.until)
    if f.alone:
        where.append(Generation.concurrent_max == 0)
    return where


def leaderboard_counts(
    store: Store, kind: str, leaderboard_filter: LeaderboardFilter | None = None
) -> LeaderboardCounts:
    """What the leaderboard of `kind` is made from: every generation from the indexes alone
    (no filter, or only a status or an annotator), else the generations the filter keeps."""
    f = leaderboard_filter
    if f is None or f.is_empty:
        return IndexCounts(store, kind)
    if not f.narrows_rows:
        return IndexCounts(store, kind, status=f.status, annotator=f.annotator)
    return FilteredCounts(store, kind, f)

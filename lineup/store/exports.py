"""The raw exports: every generation or label of a kind, streamed, with the columns a person
analysing the runs needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from lineup.core import OK, STATUSES
from lineup.store.engine import Sessions
from lineup.store.tables import Generation, Label, Run

# Every state but `ok`: the rows that are never labeled, timed or counted.
_NOT_OK = tuple(state for state in STATUSES if state != OK)

# The raw exports: every column a person analysing the runs needs, none of the bookkeeping of
# a running generation (owner host, pid, heartbeat).
GENERATION_EXPORT_COLUMNS = (
    *(
        c.name
        for c in Generation.__table__.columns
        if c.name not in ("owner_host", "owner_pid", "heartbeat_at")
    ),
    "input_text",
)
LABEL_EXPORT_COLUMNS = (
    "id",
    "generation_id",
    "annotator",
    "relevance",
    "comment",
    "created_at",
    "model_spec",
)


def _labels_query(kind: str) -> Select[*tuple[Any, ...]]:
    return (
        select(
            Label.id,
            Label.generation_id,
            Label.annotator,
            Label.relevance,
            Label.comment,
            Label.created_at,
            Label.model_spec,
        )
        .join(Generation, Label.generation_id == Generation.id)
        .where(Label.kind == kind, Generation.status == OK)
        .order_by(Label.id)
    )


def _export_query(kind: str, table: str) -> Select[*tuple[Any, ...]]:
    if table == "labels":
        return _labels_query(kind)
    if table != "generations":
        raise ValueError(f"No export of {table!r}: generations or labels.")
    generation = Generation.__table__.c
    return (
        select(*(generation[name] for name in GENERATION_EXPORT_COLUMNS[:-1]), Run.input_text)
        .join(Run, Generation.run_id == Run.id)
        .where(Generation.kind == kind)
        .order_by(Generation.id)
    )


class Exports(Sessions):
    """Store's raw exports (lineup.store.database.Store is made of these parts)."""

    def export_count(self, kind: str, table: str) -> int:
        """How many rows `export_rows(kind, table)` yields, counted on indexes alone."""
        with self.session() as session:
            if table == "generations":
                return (
                    session.scalar(
                        select(func.count()).select_from(Generation).where(Generation.kind == kind)
                    )
                    or 0
                )
            if table != "labels":
                raise ValueError(f"No export of {table!r}: generations or labels.")
            # The labels of a kind, but those on answers that are not complete (an older
            # build wrote a few): few, found from the index of states.
            labels = session.scalar(
                select(func.count()).select_from(Label).where(Label.kind == kind)
            )
            on_failed = session.scalar(
                select(func.count())
                .select_from(Generation)
                .join(Label, Label.generation_id == Generation.id)
                .where(Generation.status.in_(_NOT_OK), Generation.kind == kind)
            )
            return (labels or 0) - (on_failed or 0)

    def export_rows(self, kind: str, table: str) -> Iterator[tuple[Any, ...]]:
        """The rows of a raw export ("generations" or "labels" of `kind`, columns
        GENERATION_EXPORT_COLUMNS or LABEL_EXPORT_COLUMNS), streamed in batches from a
        server-side cursor: memory holds one batch, not the table."""
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=5_000).execute(
                _export_query(kind, table)
            )
            for row in result:
                yield tuple(row)

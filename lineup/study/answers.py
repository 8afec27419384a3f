"""The answers of a study, and the labels that count on them: the one query each reader narrows.

`study_answers(study_id, *columns)` is SELECT columns FROM generations WHERE the answer belongs
to the study; `complete=True` keeps the `ok` answers only, `with_item` joins each answer's set
item (inner, or outer for an answer whose item is gone). Callers add their own ORDER BY,
GROUP BY and further conditions. A reader that must not filter on the state (the arena: a
filter on it would tempt SQLite to walk every `ok` answer of every study instead of the
study's own index) reads the state as a column instead.

`counted_labels(study_id, *columns)` is the labels that count (Label.counted: each annotator's
latest) on the study's complete answers, of one annotator when one is named.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, func, select

from lineup.core import OK, RUNNING
from lineup.store import Generation, Label, Run, SetItemRow, Store


def study_answers(
    study_id: int,
    *columns: Any,
    complete: bool = False,
    with_item: Literal["inner", "outer"] | None = None,
) -> Select[Any]:
    """SELECT `columns` FROM the study's generations [JOIN its items] [WHERE status = 'ok']."""
    query = select(*columns).select_from(Generation)
    if with_item == "inner":
        query = query.join(SetItemRow, Generation.item_id == SetItemRow.id)
    elif with_item == "outer":
        query = query.outerjoin(SetItemRow, Generation.item_id == SetItemRow.id)
    query = query.where(Generation.study_id == study_id)
    return query.where(Generation.status == OK) if complete else query


def counted_labels(
    study_id: int,
    *columns: Any,
    annotator: str | None = None,
    with_item: Literal["outer"] | None = None,
) -> Select[Any]:
    """SELECT `columns` FROM the counted labels on the study's complete answers [of one
    annotator] [with each answer's item, outer-joined]."""
    query = study_answers(study_id, *columns, complete=True, with_item=with_item)
    query = query.join(Label, Label.generation_id == Generation.id).where(Label.counted.is_(True))
    if annotator is not None:
        query = query.where(Label.annotator == annotator.strip())
    return query


def study_annotators(store: Store, study_id: int) -> list[str]:
    """The names with a label that counts on the study's answers, in alphabetical order."""
    query = (
        study_answers(study_id, Label.annotator)
        .join(Label, Label.generation_id == Generation.id)
        .where(Label.counted.is_(True))
        .distinct()
        .order_by(Label.annotator)
    )
    with store.session() as session:
        return list(session.scalars(query))


def answer_counts(store: Store, study_id: int) -> dict[str, dict[str, int]]:
    """Per model, the study's answers by state (from the study's unique index)."""
    counts: dict[str, dict[str, int]] = {}
    with store.session() as session:
        for model, status, n in session.execute(
            study_answers(
                study_id, Generation.model_spec, Generation.status, func.count()
            ).group_by(Generation.model_spec, Generation.status)
        ):
            counts.setdefault(model, {})[status] = n
    return counts


def item_count(store: Store, study_id: int) -> int:
    """How many items the study asks (one run each)."""
    with store.session() as session:
        return session.scalar(select(func.count()).where(Run.study_id == study_id)) or 0


def answer_seconds(store: Store, study_id: int) -> dict[str, tuple[float, int]]:
    """Per model, the seconds its finished answers took and how many had a time: a request's
    total, or a clip's generation plus transcription."""
    seconds = func.coalesce(
        Generation.total_s, Generation.gen_s + func.coalesce(Generation.stt_s, 0.0)
    )
    with store.session() as session:
        return {
            model: (float(spent or 0.0), int(n))
            for model, spent, n in session.execute(
                select(Generation.model_spec, func.sum(seconds), func.count(seconds))
                .where(Generation.study_id == study_id, Generation.status != RUNNING)
                .group_by(Generation.model_spec)
            )
        }

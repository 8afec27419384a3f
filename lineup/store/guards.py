"""The store's last guard on every write, and the label count it keeps true.

Every write goes through two checks (`check_before_flush`): each String column's value fits
the column's limit on every database (SQLite would store it, PostgreSQL refuses it), and text
is storable (a lone surrogate or a NUL, which PostgreSQL or the UTF-8 encoder refuse, becomes
U+FFFD). The runner records when it had to repair an answer; the store is the last guard.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import String, and_, bindparam, exists, inspect, select, update
from sqlalchemy.orm import Session

from lineup.core import OK
from lineup.store.tables import Generation, Label, Run

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class StoreError(ValueError):
    """Bad input to the store (unknown generation, unknown relevance, a value too long for its
    column, a label on an answer that is not complete); the message says why."""


def storable(value: str) -> tuple[str, int]:
    """`value` with every lone surrogate and NUL replaced by U+FFFD, and how many there were."""
    cleaned, count = _UNSTORABLE.subn(REPLACEMENT, value)
    return cleaned, count


def storable_json(value: Any) -> Any:
    """A JSON value with every string in it made storable."""
    if isinstance(value, str):
        return storable(value)[0]
    if isinstance(value, dict):
        return {storable_json(k): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


def _column_limits() -> dict[type, dict[str, int]]:
    limits: dict[type, dict[str, int]] = {}
    for model in (Run, Generation, Label):
        limits[model] = {
            column.key: column.type.length
            for column in model.__table__.columns
            if isinstance(column.type, String) and column.type.length
        }
    return limits


_LIMITS = _column_limits()


def check_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse a value too long for its column on any database; make every text storable."""
    for obj in [*session.new, *session.dirty]:
        limits = _LIMITS.get(type(obj), {})
        for attr in inspect(obj).mapper.column_attrs:
            value = getattr(obj, attr.key)
            if isinstance(value, str):
                cleaned, repaired = storable(value)
                if repaired:
                    setattr(obj, attr.key, cleaned)
                limit = limits.get(attr.key)
                if limit is not None and len(cleaned) > limit:
                    raise StoreError(
                        f"{type(obj).__name__.lower()}.{attr.key} is {len(cleaned)} characters "
                        f"long; the limit is {limit}. Shorten it."
                    )
            elif isinstance(value, dict | list):
                cleaned_json = storable_json(value)
                if cleaned_json != value:
                    setattr(obj, attr.key, cleaned_json)


def copy_kinds(session: Session, _context: Any, _instances: Any) -> None:
    """A new generation takes its run's kind (and, written without one, its model as its
    resolved spec); a new label its generation's kind and spec."""
    with session.no_autoflush:
        for obj in session.new:
            if isinstance(obj, Generation) and not obj.resolved_spec:
                obj.resolved_spec = obj.model_spec
            if isinstance(obj, Generation) and not obj.kind:
                run = obj.run or session.get(Run, obj.run_id)
                if run is None:
                    raise StoreError(f"There is no run {obj.run_id}.")
                obj.kind = run.kind
            elif isinstance(obj, Label) and not (obj.kind and obj.model_spec):
                generation = obj.generation or session.get(Generation, obj.generation_id)
                if generation is None:
                    raise StoreError(f"There is no generation {obj.generation_id}.")
                obj.kind, obj.model_spec = generation.kind, generation.model_spec


_labels = Label.__table__.c
_latest_of_pair = (
    select(_labels.id)
    .where(
        _labels.generation_id == bindparam("gid"),
        _labels.annotator == bindparam("who"),
    )
    .order_by(_labels.created_at.desc(), _labels.id.desc())
    .limit(1)
    .scalar_subquery()
)
_of_pair = and_(_labels.generation_id == bindparam("gid"), _labels.annotator == bindparam("who"))
# Two statements, so that no moment has two counted labels for one pair (the unique index is
# checked row by row): the others stop counting, then the latest counts if its generation is
# complete.
_UNCOUNT = (
    update(Label.__table__)  # type: ignore[arg-type]  # a Table is what update() takes
    .where(_of_pair, _labels.counted, _labels.id != _latest_of_pair)
    .values(counted=False)
)
_COUNT_LATEST = (
    update(Label.__table__)  # type: ignore[arg-type]
    .where(_labels.id == _latest_of_pair)
    .values(
        counted=exists().where(
            Generation.__table__.c.id == bindparam("gid"),
            Generation.__table__.c.status == OK,
        )
    )
)


def recount_labels(session: Session, _context: Any) -> None:
    """After labels are written or deleted: for each (generation, annotator) touched, the
    latest label on a complete generation counts, and no other."""
    pairs = {
        (obj.generation_id, obj.annotator)
        for obj in [*session.new, *session.deleted]
        if isinstance(obj, Label)
    }
    connection = session.connection()
    for gid, annotator in sorted(pairs):
        connection.execute(_UNCOUNT, {"gid": gid, "who": annotator})
        connection.execute(_COUNT_LATEST, {"gid": gid, "who": annotator})


def check_word_counts(fields: dict[str, Any]) -> None:
    """A WER comes with the two counts it is the ratio of (the corpus WER sums them)."""
    wer = fields.get("wer")
    if wer is None:
        return
    errors, words = fields.get("word_errors"), fields.get("reference_words")
    if errors is None or not words or not math.isclose(errors / words, wer, abs_tol=1e-9):
        raise StoreError(
            f"A WER of {wer} needs its word errors and reference words, whose ratio it is "
            f"(got {errors} and {words})."
        )

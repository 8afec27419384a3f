"""What each model of a study stood for: the full spec stored with its answers
(generations.resolved_spec), beside the name the study keeps (lineup.catalog.resolver)."""

from __future__ import annotations

from sqlalchemy import func, select

from lineup.store import Generation, Store


def resolved_specs(store: Store, study_id: int) -> dict[str, str]:
    """Per model of the study (by its name), the full spec of its latest answer; a model with
    no answer yet is left out."""
    latest = (
        select(func.max(Generation.id))
        .where(Generation.study_id == study_id)
        .group_by(Generation.model_spec)
    )
    with store.session() as session:
        rows = session.execute(
            select(Generation.model_spec, Generation.resolved_spec).where(Generation.id.in_(latest))
        ).all()
    return {name: spec for name, spec in rows}

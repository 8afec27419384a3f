"""The Store's reads and writes of what ran where: the machine of a comparison or a study, and
what each model's server or engine said about itself (lineup.run.provenance asks them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lineup.store.engine import Sessions
from lineup.store.tables import ModelProvenance, Run, Study


class Provenance(Sessions):
    """Store's machines and model provenance (lineup.store.database.Store is made of these)."""

    def set_study_machine(self, study_id: int, machine: dict[str, Any]) -> None:
        """The machine running the study now (a resume elsewhere replaces it)."""
        with self.session() as session:
            session.execute(update(Study).where(Study.id == study_id).values(machine=machine))

    def machine_of(self, *, run_id: int | None = None, study_id: int | None = None) -> dict | None:
        """The machine stored with a run or a study (None: stored before 0015, or none)."""
        table: Any = Run if run_id is not None else Study
        key = run_id if run_id is not None else study_id
        with self.session() as session:
            return session.scalar(select(table.machine).where(table.id == key))

    def save_provenance(
        self,
        model_spec: str,
        resolved_spec: str,
        details: dict[str, Any],
        *,
        run_ids: Sequence[int] = (),
        study_id: int | None = None,
    ) -> bool:
        """Keep what a model said about itself for each of `run_ids`, or for `study_id`.

        The first answer per (owner, model) is kept: False when one was already stored (another
        process of the same study asked first)."""
        owners: list[dict[str, Any]] = [{"run_id": run_id} for run_id in run_ids]
        if study_id is not None:
            owners.append({"study_id": study_id})
        stored = False
        for owner in owners:
            try:
                with self.session() as session:
                    session.add(
                        ModelProvenance(
                            model_spec=model_spec,
                            resolved_spec=resolved_spec,
                            details=details,
                            **owner,
                        )
                    )
                stored = True
            except IntegrityError:
                pass  # asked by another process first: its answer stays
        return stored

    def provenance_of(
        self, *, run_id: int | None = None, study_id: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """{model as named: what it said} for a run or a study."""
        owner = (
            ModelProvenance.run_id == run_id
            if run_id is not None
            else ModelProvenance.study_id == study_id
        )
        with self.session() as session:
            rows = session.execute(
                select(ModelProvenance.model_spec, ModelProvenance.details)
                .where(owner)
                .order_by(ModelProvenance.id)
            ).all()
        return {spec: dict(details) for spec, details in rows}

    def latest_provenance(self, model_specs: Iterable[str]) -> dict[str, dict[str, Any]]:
        """{model: what it said the last time it was asked}, for the leaderboards: the newest
        row of each model, whatever its comparison or study."""
        wanted = sorted(set(model_specs))
        if not wanted:
            return {}
        newest = (
            select(func.max(ModelProvenance.id))
            .where(ModelProvenance.model_spec.in_(wanted))
            .group_by(ModelProvenance.model_spec)
        )
        with self.session() as session:
            rows = session.execute(
                select(ModelProvenance.model_spec, ModelProvenance.details).where(
                    ModelProvenance.id.in_(newest)
                )
            ).all()
        return {spec: dict(details) for spec, details in rows}

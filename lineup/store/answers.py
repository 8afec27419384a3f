"""The Store's reads and writes of runs and their generations (the answers): created
`running`, their progress saved, finished once, and reaped when their owner is gone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import selectinload

from lineup.core import INTERRUPTED, N_, RUNNING, Message
from lineup.store.engine import Sessions
from lineup.store.guards import StoreError, check_word_counts, storable
from lineup.store.owners import HEARTBEAT_STALE_S, owner_gone, running_row
from lineup.store.tables import Generation, Run, utcnow


class RunsAndAnswers(Sessions):
    """Store's runs and generations (lineup.store.database.Store is made of these parts)."""

    def create_run(
        self,
        kind: str,
        input_text: str,
        *,
        image_hash: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        blind: bool = False,
        machine: dict[str, Any] | None = None,
    ) -> int:
        """A run with no generations yet (they are added one by one: `add_generation`)."""
        run_id, _ = self.create_run_with_generations(
            kind,
            input_text,
            [],
            image_hash=image_hash,
            system_prompt=system_prompt,
            params=params,
            seed=seed,
            blind=blind,
            machine=machine,
        )
        return run_id

    def add_generation(
        self,
        run_id: int,
        model_spec: str,
        *,
        position: int = 0,
        sample_index: int = 0,
        seed: int | None = None,
        resolved_spec: str | None = None,
    ) -> int:
        """A `running` row of `model_spec` (the model as named; `resolved_spec` the full spec
        it stands for, the same text when None)."""
        generation = running_row(model_spec, position, sample_index, seed, resolved_spec)
        generation.run_id = run_id
        with self.session() as session:
            session.add(generation)
            session.flush()
            return generation.id

    def create_run_with_generations(
        self,
        kind: str,
        input_text: str,
        models: Sequence[str],
        *,
        image_hash: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        blind: bool = False,
        resolved_specs: Sequence[str] | None = None,
        machine: dict[str, Any] | None = None,
    ) -> tuple[int, list[int]]:
        """A run and one `running` row per model (in this order, with the run's seed), written
        in one transaction: all of it or, when any row is refused, none. `resolved_specs`:
        the full spec each model stands for (the models themselves when None); `machine`: the
        machine that runs it (lineup.run.provenance.machine_snapshot)."""
        run = Run(
            kind=kind,
            input_text=input_text,
            image_hash=image_hash,
            system_prompt=system_prompt,
            params=params or {},
            seed=seed,
            blind=blind,
            machine=machine,
        )
        specs = list(models) if resolved_specs is None else list(resolved_specs)
        run.generations = [
            running_row(model, position, 0, seed, spec)
            for position, (model, spec) in enumerate(zip(models, specs, strict=True))
        ]
        with self.session() as session:
            session.add(run)
            session.flush()
            return run.id, [generation.id for generation in run.generations]

    def finish_generation(self, generation_id: int, status: str, **fields: Any) -> bool:
        """Write a generation's final state and figures, once.

        Only a `running` row is finished (or one a reaper elsewhere took for dead while its
        process still ran: that process knows best). A row already in another final state
        is left as it is, and False is returned.
        """
        for name in fields:
            if name not in Generation.__table__.columns:
                raise StoreError(f"Generations have no field {name!r}.")
        check_word_counts(fields)
        with self.session() as session:
            generation = session.get(Generation, generation_id)
            if generation is None:
                raise StoreError(f"There is no generation {generation_id}.")
            if generation.status not in (RUNNING, INTERRUPTED):
                return False
            generation.status = status
            generation.finished_at = utcnow()
            generation.heartbeat_at = None
            for name, value in fields.items():
                setattr(generation, name, value)
            return True

    def save_progress(self, progress: Iterable[tuple[int, str | None, str | None]]) -> None:
        """Save running generations' partial text and heartbeat: (id, text, reasoning) each.

        One statement for them all; a row that has meanwhile finished is not touched.
        """
        now = utcnow()
        rows = [
            {
                "gid": generation_id,
                "output_text": storable(text_so_far)[0] if text_so_far else None,
                "reasoning_text": storable(reasoning)[0] if reasoning else None,
                "heartbeat_at": now,
            }
            for generation_id, text_so_far, reasoning in progress
        ]
        if not rows:
            return
        table = Generation.__table__
        statement = (
            update(table)  # type: ignore[arg-type]  # a Table is what update() takes
            .where(table.c.id == bindparam("gid"), table.c.status == RUNNING)
            .values(
                output_text=bindparam("output_text"),
                reasoning_text=bindparam("reasoning_text"),
                heartbeat_at=bindparam("heartbeat_at"),
            )
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def reap_orphans(self, *, stale_s: float = HEARTBEAT_STALE_S) -> list[int]:
        """Mark `interrupted` every running row whose owner is gone; return their ids.

        On this host an owner is gone at once when its process no longer exists (or its pid
        now belongs to a younger process). Elsewhere, when its heartbeat is older than
        `stale_s`. The partial text saved so far stays in the row.
        """
        now = utcnow()
        with self.session() as session:
            running = session.execute(
                select(
                    Generation.id,
                    Generation.owner_host,
                    Generation.owner_pid,
                    Generation.heartbeat_at,
                    Generation.started_at,
                ).where(Generation.status == RUNNING)
            ).all()
        gone: dict[int, Message] = {}
        for gid, owner_host, owner_pid, heartbeat_at, started_at in running:
            why = owner_gone(owner_host, owner_pid, started_at, heartbeat_at, stale_s=stale_s)
            if why is not None:
                gone[gid] = why
        for gid, why in gone.items():
            message = Message.of(
                N_(
                    "Interrupted: {why} before it finished. The text streamed until then is "
                    "kept. Run it again to get a complete answer."
                ),
                why=why,
            )
            with self.session() as session:
                session.execute(
                    update(Generation)
                    .where(Generation.id == gid, Generation.status == RUNNING)
                    .values(
                        status=INTERRUPTED,
                        finished_at=now,
                        heartbeat_at=None,
                        error=message.english,
                        error_said=message.stored(),
                    )
                )
        return list(gone)

    def get_run(self, run_id: int) -> Run | None:
        with self.session() as session:
            return session.scalar(
                select(Run)
                .where(Run.id == run_id)
                .options(selectinload(Run.generations).selectinload(Generation.labels))
            )

    def get_generation(self, generation_id: int) -> Generation | None:
        with self.session() as session:
            return session.get(Generation, generation_id)

    def latest_runs(self, kind: str, limit: int = 20) -> list[Run]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Run)
                    .where(Run.kind == kind)
                    .order_by(Run.id.desc())
                    .limit(limit)
                    .options(selectinload(Run.generations))
                )
            )

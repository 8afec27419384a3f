"""The store: SQLAlchemy engine, migrations at start, and the reads and writes the app needs."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, selectinload, sessionmaker

from lineup.models import RELEVANCE, Generation, Label, Run, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class StoreError(ValueError):
    """Bad input to the store (unknown generation, unknown relevance); the message says why."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema with Alembic."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()


class Store:
    """All reads and writes of runs, generations and labels. Safe to share between threads."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            with _upgrade_lock:
                if url not in _upgraded or url.endswith(":memory:"):
                    upgrade(self.engine)
                    _upgraded.add(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # Runs and generations -------------------------------------------------------------

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
    ) -> int:
        run = Run(
            kind=kind,
            input_text=input_text,
            image_hash=image_hash,
            system_prompt=system_prompt,
            params=params or {},
            seed=seed,
            blind=blind,
        )
        with self.session() as session:
            session.add(run)
            session.flush()
            return run.id

    def add_generation(
        self,
        run_id: int,
        model_spec: str,
        *,
        position: int = 0,
        sample_index: int = 0,
        seed: int | None = None,
    ) -> int:
        generation = Generation(
            run_id=run_id,
            model_spec=model_spec,
            position=position,
            sample_index=sample_index,
            seed=seed,
            status="running",
        )
        with self.session() as session:
            session.add(generation)
            session.flush()
            return generation.id

    def finish_generation(self, generation_id: int, status: str, **fields: Any) -> None:
        with self.session() as session:
            generation = session.get(Generation, generation_id)
            if generation is None:
                raise StoreError(f"There is no generation {generation_id}.")
            generation.status = status
            generation.finished_at = utcnow()
            for name, value in fields.items():
                if not hasattr(Generation, name):
                    raise StoreError(f"Generations have no field {name!r}.")
                setattr(generation, name, value)

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

    # Labels ---------------------------------------------------------------------------

    def add_label(
        self,
        generation_id: int,
        relevance: str,
        *,
        annotator: str,
        comment: str | None = None,
    ) -> int:
        """Write a label at once. A later label by the same annotator supersedes the earlier."""
        if relevance not in RELEVANCE:
            raise StoreError(f"Relevance {relevance!r} is not one of: {', '.join(RELEVANCE)}.")
        annotator = annotator.strip()
        if not annotator:
            raise StoreError("A label needs an annotator name.")
        with self.session() as session:
            if session.get(Generation, generation_id) is None:
                raise StoreError(f"There is no generation {generation_id}.")
            label = Label(
                generation_id=generation_id,
                annotator=annotator,
                relevance=relevance,
                comment=(comment or None),
            )
            session.add(label)
            session.flush()
            return label.id

    def current_labels(self, generation_ids: Iterable[int], annotator: str) -> dict[int, Label]:
        """The latest label each of these generations has from this annotator."""
        ids = list(generation_ids)
        if not ids:
            return {}
        with self.session() as session:
            rows = session.scalars(
                select(Label)
                .where(Label.generation_id.in_(ids), Label.annotator == annotator)
                .order_by(Label.created_at, Label.id)
            )
            return {label.generation_id: label for label in rows}

    # Frames for the metrics -----------------------------------------------------------

    def generations_frame(self, kind: str) -> pd.DataFrame:
        query = (
            select(Generation, Run.input_text)
            .join(Run, Generation.run_id == Run.id)
            .where(Run.kind == kind)
        )
        columns = [c.name for c in Generation.__table__.columns]
        with self.session() as session:
            rows = [
                {**{name: getattr(g, name) for name in columns}, "input_text": text}
                for g, text in session.execute(query)
            ]
        return pd.DataFrame(rows, columns=[*columns, "input_text"])

    def labels_frame(self, kind: str) -> pd.DataFrame:
        query = (
            select(
                Label.id,
                Label.generation_id,
                Label.annotator,
                Label.relevance,
                Label.comment,
                Label.created_at,
                Generation.model_spec,
            )
            .join(Generation, Label.generation_id == Generation.id)
            .join(Run, Generation.run_id == Run.id)
            .where(Run.kind == kind)
        )
        with self.session() as session:
            rows = [row._asdict() for row in session.execute(query)]
        return pd.DataFrame(
            rows,
            columns=[
                "id",
                "generation_id",
                "annotator",
                "relevance",
                "comment",
                "created_at",
                "model_spec",
            ],
        )

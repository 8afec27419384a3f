"""The store: SQLAlchemy engine, migrations at start, and the reads and writes the app needs.

Every write goes through two checks (`_check_before_flush`): each String column's value fits
the column's limit on every database (SQLite would store it, PostgreSQL refuses it), and text
is storable (a lone surrogate or a NUL, which PostgreSQL or the UTF-8 encoder refuse, becomes
U+FFFD). The runner records when it had to repair an answer; the store is the last guard.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.sql import Select

from lineup.core import (
    DEFAULT_DB_CONNECT_TIMEOUT_S,
    INTERRUPTED,
    MIN_DB_CONNECT_TIMEOUT_S,
    OK,
    RELEVANCE,
    RUNNING,
    STATUSES,
    cannot_write,
)
from lineup.measure import ScoredClips
from lineup.store.aggregates import wer_sums
from lineup.store.tables import (
    MEDIAN_GROUPS,
    WER_WITHOUT_TRANSCRIPT,
    Generation,
    Label,
    Run,
    SetItemRow,
    ok_rows_with,
    rows_without,
    utcnow,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any number that is the same in every Lineup process: the key of PostgreSQL's advisory lock
# that serialises migrations.
PG_MIGRATION_LOCK_KEY = 0x4C494E45  # "LINE"
# A running row on another host whose heartbeat is older than this has lost its owner.
HEARTBEAT_STALE_S = 30.0
# Writes of one label, when another process labels the same answer as the same annotator at
# the same moment (Store.add_label).
LABEL_ATTEMPTS = 5

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class StoreError(ValueError):
    """Bad input to the store (unknown generation, unknown relevance, a value too long for its
    column, a label on an answer that is not complete); the message says why."""


class StoreUnavailable(Exception):
    """The database cannot be opened or written: a malformed URL, an unknown driver, a server
    that does not answer, a file that is damaged or is not a database, a full disk, a read-only
    folder. The message names the database (password hidden) and says how to fix it."""


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


def shown_url(url: str | URL) -> str:
    """A database URL as it may be shown or logged: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout first: switching a new database to WAL takes a write lock, which
    # several processes opening it at once would otherwise fail to get.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives a crash
    # of Lineup (what "nothing is lost" needs), and only a power cut may lose the last ones.
    # FULL made every row write wait for the disk (about 7 ms each here).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S) -> Engine:
    """The engine of a database URL; `connect_timeout_s` bounds the wait for a server (a
    PostgreSQL client counts whole seconds, 2 at least). SQLite errors that mean the file is
    damaged, full or read-only become StoreUnavailable wherever they happen."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(
            f"LINEUP_DATABASE_URL is not a database URL ({exc}). Use a SQLAlchemy URL such as "
            "sqlite:////path/to/lineup.db or postgresql+psycopg://user@127.0.0.1/lineup, or "
            "unset it to use $LINEUP_HOME/lineup.db."
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).expanduser().parent
                if folder.exists() and not folder.is_dir():
                    raise StoreUnavailable(
                        f"The database {parsed.database} cannot be made: {folder} is a file, "
                        "not a folder. Point LINEUP_HOME (or LINEUP_DATABASE_URL) elsewhere."
                    )
                folder.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "handle_error", _sqlite_store_problem)
            return engine
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = _pg_connect_timeout(connect_timeout_s)
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailable(
            f"No database driver for {shown_url(parsed)} ({exc}). Lineup ships SQLite and "
            "PostgreSQL (postgresql+psycopg://...)."
        ) from exc
    except OSError as exc:
        where = exc.filename or parsed.database or shown_url(parsed)
        raise StoreUnavailable(
            f"The database {shown_url(parsed)} cannot be made: {cannot_write(where, exc)}"
        ) from exc


def _pg_connect_timeout(connect_timeout_s: float) -> int:
    """The connect timeout as PostgreSQL's client takes it: whole seconds, 2 at least."""
    return max(MIN_DB_CONNECT_TIMEOUT_S, math.ceil(connect_timeout_s))


# SQLite's result codes (the primary code, the low byte) that mean the store itself needs
# fixing rather than a bug in Lineup: what each one tells the person to do.
_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)
_FULL = (sqlite3.SQLITE_FULL,)
_NOT_WRITABLE = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)
_DISK = (sqlite3.SQLITE_IOERR,)


def _sqlite_store_problem(context: ExceptionContext) -> None:
    """A SQLite error that means the database file is damaged, on a full disk or read-only
    becomes StoreUnavailable saying what to do (the engine's handle_error hook); any other
    error is left as it is. Nothing of the failed write is stored: its transaction rolls back.
    """
    error = context.original_exception
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return
    path = context.engine.url.database if context.engine is not None else None
    where = f"The database {path}" if path else "The database"
    primary = code & 0xFF
    if primary in _DAMAGED:
        raise StoreUnavailable(
            f"{where} is damaged or is not a Lineup database ({error}); Lineup leaves it as it "
            "is. Restore it from a backup, or move it aside (keep it: it may hold your runs and "
            "labels) and Lineup starts a new, empty store in its place. To see what is wrong: "
            f"sqlite3 {path or 'lineup.db'} 'PRAGMA integrity_check'."
        ) from error
    if primary in _FULL:
        raise StoreUnavailable(
            f"{where} cannot grow: the disk holding it is full ({error}). Free some space, or "
            "set LINEUP_HOME to a folder on a disk with room, and try again. What was being "
            "written was not stored."
        ) from error
    if primary in _NOT_WRITABLE:
        folder = f" or its folder {Path(path).parent}" if path else ""
        raise StoreUnavailable(
            f"{where} cannot be written ({error}): it{folder} is read-only, on a read-only file "
            "system, or not this user's. Set LINEUP_HOME to a folder you can write to, or make "
            "that one writable."
        ) from error
    if primary in _DISK:
        raise StoreUnavailable(
            f"{where} could not be read or written ({error}). Check the disk it is on (is it "
            "still mounted? full?), then try again."
        ) from error


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema with Alembic, one process at a time.

    Any number of processes may open a new store at once: a file lock beside a SQLite file,
    an advisory lock on PostgreSQL. The one that gets it first migrates; the others then
    find the schema at head and change nothing.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        from filelock import FileLock

        lock = f"{url.database}.migrate.lock"
        try:
            with FileLock(lock), engine.begin() as connection:
                command.upgrade(_alembic_config(connection), "head")
        except OSError as exc:  # the lock file cannot be made beside the database
            problem = cannot_write(Path(lock).parent, exc)
            raise StoreUnavailable(
                f"The database {url.database} cannot be opened: {problem}"
            ) from exc
        return
    with engine.begin() as connection:
        if url.get_backend_name() == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY}
            )
        command.upgrade(_alembic_config(connection), "head")


_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()


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


def _check_before_flush(session: Session, _context: Any, _instances: Any) -> None:
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


def _copy_kinds(session: Session, _context: Any, _instances: Any) -> None:
    """A new generation takes its run's kind; a new label its generation's kind and spec."""
    with session.no_autoflush:
        for obj in session.new:
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


def _recount_labels(session: Session, _context: Any) -> None:
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


def _check_word_counts(fields: dict[str, Any]) -> None:
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


def this_owner() -> tuple[str, int]:
    """The host and process id this process records as the owner of what it runs."""
    return socket.gethostname()[:255], os.getpid()


def owner_gone(
    owner_host: str | None,
    owner_pid: int | None,
    since: datetime | None,
    heartbeat_at: datetime | None,
    *,
    stale_s: float = HEARTBEAT_STALE_S,
) -> str | None:
    """Why the owner of a running row is gone, or None while it lives.

    On this host an owner is gone at once when its process no longer exists (or its pid now
    belongs to a process younger than `since`, when the row was taken). Elsewhere, when its
    heartbeat (or `since`) is older than `stale_s`.
    """
    import psutil

    if owner_host == this_owner()[0] and owner_pid is not None:
        if _process_alive(psutil, owner_pid, since):
            return None
        return f"the Lineup process that ran it (pid {owner_pid}) is gone"
    last = _aware(heartbeat_at or since)
    if last is None or utcnow() - last > timedelta(seconds=stale_s):
        where = f"on {owner_host}" if owner_host else "of an earlier Lineup"
        return f"the Lineup process {where} stopped sending its heartbeat"
    return None


def _running(model_spec: str, position: int, sample_index: int, seed: int | None) -> Generation:
    """A new `running` row, owned by this process, its heartbeat now."""
    host, pid = this_owner()
    return Generation(
        model_spec=model_spec,
        position=position,
        sample_index=sample_index,
        seed=seed,
        status=RUNNING,
        owner_host=host,
        owner_pid=pid,
        heartbeat_at=utcnow(),
    )


def _cannot_open(url: str, exc: OperationalError, connect_timeout_s: float) -> str:
    """Why the database at `url` cannot be opened, and what to do."""
    from psycopg.errors import ConnectionTimeout  # the driver Lineup ships for PostgreSQL

    shown = shown_url(url)
    if isinstance(exc.orig, ConnectionTimeout):
        waited_s = _pg_connect_timeout(connect_timeout_s)
        return (
            f"The database server of {shown} did not answer within {waited_s} s. Check that it "
            "is running and reachable and that the URL (LINEUP_DATABASE_URL) is right; a slow "
            f"network may need a longer wait: LINEUP_DB_CONNECT_TIMEOUT_S (now {waited_s})."
        )
    return (
        f"Cannot open the database {shown}: {exc.orig}. Check that its server is running and "
        "the URL (LINEUP_DATABASE_URL) is right, or that the file and its folder are writable."
    )


class Store:
    """All reads and writes of runs, generations and labels. Safe to share between threads."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, connect_timeout_s=connect_timeout_s)
        if migrate:
            with _upgrade_lock:
                if url not in _upgraded or url.endswith(":memory:"):
                    try:
                        upgrade(self.engine)
                    except OperationalError as exc:
                        raise StoreUnavailable(_cannot_open(url, exc, connect_timeout_s)) from exc
                    _upgraded.add(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _copy_kinds)
        event.listen(self._sessions, "before_flush", _check_before_flush)
        event.listen(self._sessions, "after_flush", _recount_labels)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def media_in_use(self, digests: Iterable[str]) -> set[str]:
        """Which of these media hashes a stored row names: a set's image, a run's image, a
        generation's audio."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        named = (
            select(SetItemRow.image_hash).where(SetItemRow.image_hash.in_(wanted)),
            select(Run.image_hash).where(Run.image_hash.in_(wanted)),
            select(Generation.audio_hash).where(Generation.audio_hash.in_(wanted)),
        )
        with self.session() as session:
            return {digest for query in named for digest in session.scalars(query) if digest}

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
    ) -> int:
        generation = _running(model_spec, position, sample_index, seed)
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
    ) -> tuple[int, list[int]]:
        """A run and one `running` row per model (in this order, with the run's seed), written
        in one transaction: all of it or, when any row is refused, none."""
        run = Run(
            kind=kind,
            input_text=input_text,
            image_hash=image_hash,
            system_prompt=system_prompt,
            params=params or {},
            seed=seed,
            blind=blind,
        )
        run.generations = [
            _running(model, position, 0, seed) for position, model in enumerate(models)
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
        _check_word_counts(fields)
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
        gone: dict[int, str] = {}
        for gid, owner_host, owner_pid, heartbeat_at, started_at in running:
            why = owner_gone(owner_host, owner_pid, started_at, heartbeat_at, stale_s=stale_s)
            if why is not None:
                gone[gid] = why
        for gid, why in gone.items():
            with self.session() as session:
                session.execute(
                    update(Generation)
                    .where(Generation.id == gid, Generation.status == RUNNING)
                    .values(
                        status=INTERRUPTED,
                        finished_at=now,
                        heartbeat_at=None,
                        error=f"Interrupted: {why} before it finished. The text streamed "
                        "until then is kept. Run it again to get a complete answer.",
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

    # Labels ---------------------------------------------------------------------------

    def add_label(
        self,
        generation_id: int,
        relevance: str,
        *,
        annotator: str,
        comment: str | None = None,
    ) -> int:
        """Write a label at once. A later label by the same annotator supersedes the earlier:
        only the latest counts (Label.counted)."""
        if relevance not in RELEVANCE:
            raise StoreError(f"Relevance {relevance!r} is not one of: {', '.join(RELEVANCE)}.")
        annotator = annotator.strip()
        if not annotator:
            raise StoreError("A label needs an annotator name.")
        for attempt in range(LABEL_ATTEMPTS):
            try:
                return self._write_label(generation_id, relevance, annotator, comment)
            except IntegrityError:
                # Another process labeled the same answer as the same annotator at the same
                # moment: both labels were the latest in their own transaction, and the unique
                # index of counted labels refused the second. Written again, it sees the other.
                if attempt == LABEL_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _write_label(
        self, generation_id: int, relevance: str, annotator: str, comment: str | None
    ) -> int:
        with self.session() as session:
            generation = session.get(Generation, generation_id)
            if generation is None:
                raise StoreError(f"There is no generation {generation_id}.")
            if generation.status != OK:
                raise StoreError(
                    f"Generation {generation_id} is `{generation.status}`, not a complete "
                    "answer: only complete (`ok`) answers can be labeled."
                )
            label = Label(
                generation_id=generation_id,
                kind=generation.kind,
                model_spec=generation.model_spec,
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
    # The aggregates of the leaderboards (lineup.metrics, lineup.tts_metrics say what each
    # figure is). Each query reads one index of lineup.models and the columns it needs, never
    # whole rows, and returns a handful of numbers; the same SQL runs on SQLite and
    # PostgreSQL. A median is the middle one or two values of a partial index that holds
    # exactly the rows it counts, in order: a walk to the middle, no sort.
    # (A leaderboard filtered by study, set, tag or dates reads the rows it keeps instead:
    # lineup.leaderboard_filter. One filtered by annotator alone uses these, `annotator` set.)

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
        """How many `ok` generations of `spec` have a value in every column of `present` (a
        group of lineup.models.MEDIAN_GROUPS), and for each of `columns` the middle one (odd
        count) or two (even count) of its values among them.

        The count is the `ok` count of the scope minus the few `ok` rows that lack one of
        `present` (their own small index); then a walk to the middle of each column's index.
        """
        if tuple(present) not in MEDIAN_GROUPS.get(scope.kind, ()):
            raise ValueError(f"No median of {scope.kind} rows over {tuple(present)}.")
        where = [*scope.rows_of(spec), _rows_with(*present)]
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

    def largest_value(self, scope: KindScope, spec: str, column: str) -> float | None:
        """The largest value of `column` over the `ok` generations of `spec`."""
        value = Generation.__table__.c[column]
        with self.session() as session:
            largest = session.scalar(
                select(func.max(value)).where(*scope.rows_of(spec), _rows_with(column))
            )
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
        walk of the index of WERs (lineup.tts_metrics turns them into figures)."""
        where = [*scope.rows_of(spec), _rows_with("wer")]
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


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the store writes UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def _process_alive(psutil: Any, pid: int, started_at: datetime | None) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; whose it is cannot be told
    started = _aware(started_at)
    # A pid reused by a process started after the row was written is not its owner.
    return started is None or created <= started.timestamp() + 1.0


# Aggregates ------------------------------------------------------------------------------

# Every state but `ok`: the rows that are never labeled, timed or counted.
_NOT_OK = tuple(state for state in STATUSES if state != OK)


def _rows_with(*columns: str) -> ColumnElement[bool]:
    """The `ok` generations with a value in each of `columns`, in the very words of their
    partial index's predicate (lineup.models.ok_rows_with): SQLite uses the index only then."""
    return and_(text(ok_rows_with(*columns)))


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

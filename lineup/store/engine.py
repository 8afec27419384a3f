"""The database engine: SQLite's settings and its errors that need the person, PostgreSQL's
connect timeout, and the migrations at start (one process at a time)."""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lineup.core import DEFAULT_DB_CONNECT_TIMEOUT_S, MIN_DB_CONNECT_TIMEOUT_S, cannot_write

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any number that is the same in every Lineup process: the key of PostgreSQL's advisory lock
# that serialises migrations.
PG_MIGRATION_LOCK_KEY = 0x4C494E45  # "LINE"


class StoreUnavailable(Exception):
    """The database cannot be opened or written: a malformed URL, an unknown driver, a server
    that does not answer, a file that is damaged or is not a database, a full disk, a read-only
    folder. The message names the database (password hidden) and says how to fix it."""


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


def alembic_config(connection: Any) -> Config:
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
                command.upgrade(alembic_config(connection), "head")
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
        command.upgrade(alembic_config(connection), "head")


# The URLs this process has brought to the newest schema (Store opens each once).
upgraded: set[str] = set()
upgrade_lock = threading.Lock()


def cannot_open(url: str, exc: OperationalError, connect_timeout_s: float) -> str:
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


class Sessions:
    """What each part of the Store reads and writes through: the engine, and one session per
    transaction (lineup.store.database.Store makes them when it opens the database)."""

    engine: Engine
    _sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

"""The store: one class, Store, for every read and write the app makes of the database.

Store is made of parts, one module each, by what they read and write: runs and their answers
(lineup.store.answers), labels (labels), the leaderboards' aggregates (aggregates), the raw
exports (exports) and what ran where (provenance). Each part is a mixin over the engine and its
sessions (engine.Sessions), so a caller holds one Store and calls its methods, with no method
that only passes a call on. Opening a Store brings the database to the newest schema (engine)
and puts the guards on every write (guards).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from lineup.core import DEFAULT_DB_CONNECT_TIMEOUT_S
from lineup.store.aggregates import Aggregates
from lineup.store.answers import RunsAndAnswers
from lineup.store.engine import (
    StoreUnavailable,
    cannot_open,
    make_engine,
    upgrade,
    upgrade_lock,
    upgraded,
)
from lineup.store.exports import Exports
from lineup.store.guards import check_before_flush, copy_kinds, recount_labels
from lineup.store.labels import Labels
from lineup.store.provenance import Provenance
from lineup.store.tables import Generation, Run, SetItemRow


class Store(RunsAndAnswers, Labels, Aggregates, Exports, Provenance):
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
            with upgrade_lock:
                if url not in upgraded or url.endswith(":memory:"):
                    try:
                        upgrade(self.engine)
                    except OperationalError as exc:
                        raise StoreUnavailable(cannot_open(url, exc, connect_timeout_s)) from exc
                    upgraded.add(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", copy_kinds)
        event.listen(self._sessions, "before_flush", check_before_flush)
        event.listen(self._sessions, "after_flush", recount_labels)

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

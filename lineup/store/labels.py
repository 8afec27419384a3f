"""The Store's writes and reads of labels: a later label by the same annotator supersedes the
earlier (the count itself is kept true by lineup.store.guards)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lineup.core import OK, RELEVANCE, _
from lineup.store.engine import Sessions
from lineup.store.guards import StoreError
from lineup.store.tables import WARMUP, Generation, Label

# Writes of one label, when another process labels the same answer as the same annotator at
# the same moment (Store.add_label).
LABEL_ATTEMPTS = 5


class Labels(Sessions):
    """Store's labels (lineup.store.database.Store is made of these parts)."""

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
            raise StoreError(
                _("Relevance {relevance} is not one of: {choices}.").format(
                    relevance=repr(relevance), choices=", ".join(RELEVANCE)
                )
            )
        annotator = annotator.strip()
        if not annotator:
            raise StoreError(_("A label needs an annotator name."))
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
                raise StoreError(
                    _("There is no generation {generation_id}.").format(generation_id=generation_id)
                )
            if generation.status != OK:
                raise StoreError(
                    _(
                        "Generation {generation_id} is `{status}`, not a complete answer: only "
                        "complete (`ok`) answers can be labeled."
                    ).format(generation_id=generation_id, status=generation.status)
                )
            if generation.kind == WARMUP:
                raise StoreError(
                    f"Generation {generation_id} is a study's warm-up request: it is never "
                    "labeled or counted."
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

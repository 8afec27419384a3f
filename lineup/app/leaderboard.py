"""The leaderboards over the whole store, their filters' choices, and the raw exports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lineup.app.part import ExportTable, Part, RunKind
from lineup.leaderboard import (
    FilterChoices,
    LeaderboardFilter,
    check_filter,
    filter_choices,
    tts_leaderboard,
    vlm_leaderboard,
)
from lineup.store import GENERATION_EXPORT_COLUMNS, LABEL_EXPORT_COLUMNS


class Leaderboard(Part):
    """The leaderboards over the whole store, their filters' choices, and the raw exports."""

    def rows(self, kind: RunKind, filter: LeaderboardFilter | None = None) -> list[dict[str, Any]]:
        """One row per model (`vlm`) or voice (`tts`): label shares, speed, failures; for
        voices the WER too. Definitions: lineup.measure.figures and lineup.measure.voices. With a
        filter, over the generations and labels it keeps (lineup.leaderboard.filters); InputError
        when it names a study, set, tag or annotator the store does not hold."""
        if filter is None or filter.is_empty:
            filter = None  # the unfiltered leaderboard reads its indexes alone
        else:
            check_filter(self.store, filter)
        if kind == "vlm":
            return vlm_leaderboard(self.store, filter)
        return tts_leaderboard(self.store, filter)

    def provenance(self, models: Iterable[str]) -> dict[str, dict[str, Any]]:
        """{model: what its server or engine said about itself the last time it was asked}
        (the newest card of any comparison or study; a model never asked has none)."""
        return self.store.latest_provenance(models)

    def choices(self) -> FilterChoices:
        """What the leaderboard's filters can be set to: the studies (newest first), the sets,
        the tags of their items, the annotators with a label that counts, the states."""
        return filter_choices(self.store)

    def export_columns(self, table: ExportTable) -> tuple[str, ...]:
        """The columns of a raw export, in the order `export_rows` yields them."""
        return GENERATION_EXPORT_COLUMNS if table == "generations" else LABEL_EXPORT_COLUMNS

    def export_count(self, kind: RunKind, table: ExportTable) -> int:
        """How many rows a raw export holds (every generation of a kind, or every label on
        its complete generations)."""
        return self.store.export_count(kind, table)

    def export_rows(self, kind: RunKind, table: ExportTable) -> Iterator[tuple[Any, ...]]:
        """The rows of a raw export, as stored, streamed from the store in batches."""
        return self.store.export_rows(kind, table)

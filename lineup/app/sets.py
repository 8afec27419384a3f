"""Question sets: import one (a path, an upload or a set that ships with Lineup), and the
sets stored."""

from __future__ import annotations

from pathlib import Path

from lineup.app.part import Part
from lineup.sets import (
    SetSummary,
    ShippedImport,
    ShippedSet,
    import_shipped,
    read_set,
    read_set_bytes,
    save_set,
    set_by_name,
    set_summaries,
    shipped_sets,
)
from lineup.store import QuestionSet


class Sets(Part):
    """Question sets: import one (a path, an upload or a set that ships with Lineup), and the
    sets stored."""

    def import_path(self, path: str | Path, name: str | None = None) -> SetSummary:
        """Read a set from a folder, a .zip or a set file, check it whole, and store it;
        SetError (nothing stored) lists every problem with its line."""
        parsed = read_set(
            path,
            name=name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
            max_set_pixels=self.settings.max_set_pixels,
        )
        return save_set(self.store, self.media, parsed)

    def import_upload(self, filename: str, data: bytes, name: str | None = None) -> SetSummary:
        """The same for an uploaded .zip (or a lone sentences file)."""
        parsed = read_set_bytes(
            filename,
            data,
            name=name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
            max_set_pixels=self.settings.max_set_pixels,
        )
        return save_set(self.store, self.media, parsed)

    def shipped(self) -> list[ShippedSet]:
        """The sets that ship with Lineup (sample_media/sets/): what each holds, and whether
        the store has it already."""
        return shipped_sets(
            self.store,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
        )

    def import_shipped(self, name: str, as_name: str | None = None) -> ShippedImport:
        """Store a shipped set by name (under `as_name` if given), or find it stored already:
        it is never stored twice. UnknownShippedSet names the shipped sets; SetError when a
        different set holds the name."""
        return import_shipped(
            self.store,
            self.media,
            name,
            as_name=as_name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
        )

    def stored(self) -> list[SetSummary]:
        """Every stored set, newest first."""
        return set_summaries(self.store)

    def get(self, name: str) -> QuestionSet | None:
        """The stored set of that name, with its items in order."""
        return set_by_name(self.store, name)

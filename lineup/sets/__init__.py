"""Question sets: reading and checking them, storing them, and the samples, sentences and sets that
ship."""

from lineup.sets.items import SetError
from lineup.sets.library import SetSummary, save_set, set_by_name, set_summaries
from lineup.sets.read import read_set, read_set_bytes
from lineup.sets.samples import list_samples, sample_with_digest
from lineup.sets.sentences import sentence_sets, split_sentences
from lineup.sets.shipped import (
    ShippedImport,
    ShippedSet,
    import_shipped,
    shipped_set_names,
    shipped_sets,
)

__all__ = [
    "SetError",
    "SetSummary",
    "ShippedImport",
    "ShippedSet",
    "import_shipped",
    "list_samples",
    "read_set",
    "read_set_bytes",
    "sample_with_digest",
    "save_set",
    "sentence_sets",
    "set_by_name",
    "set_summaries",
    "shipped_set_names",
    "shipped_sets",
    "split_sentences",
]

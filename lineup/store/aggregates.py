"""Aggregates that several readers of the store select: one definition each, so the figures
made from them cannot drift apart."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func

from lineup.store.tables import Generation


def wer_sums() -> tuple[ColumnElement[Any], ...]:
    """The WER sums over the selected clips, in the order `ScoredClips.from_sums` takes them:
    the clips, the sum of their WERs and of their squares, the clips with a CER and the sum
    of those, and the sums of word errors and reference words (lineup.measure.voices)."""
    return (
        func.count(),
        func.sum(Generation.wer),
        func.sum(Generation.wer * Generation.wer),
        func.count(Generation.cer),
        func.sum(Generation.cer),
        func.sum(Generation.word_errors),
        func.sum(Generation.reference_words),
    )

"""The answers of a study as the outputs read them: one query (lineup.study's study_answers)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func

from lineup.store import Generation, Store
from lineup.study import study_answers


class Answer(NamedTuple):
    """One answer (generation) of a study, in any state, as the outputs read it."""

    id: int
    item_id: int
    model: str
    repeat: int
    status: str
    chars: int  # its length in characters (SQL length(); 0 without text)
    ttft_s: float | None
    total_s: float | None
    tokens_per_s: float | None
    rtf: float | None
    transcript: str | None
    text: str
    error: str | None
    audio_hash: str | None
    wer: float | None
    cer: float | None = None
    cold: bool | None = None  # included a model load (lineup.measure.timing.cold_start)
    energy_j: float | None = None  # the whole device's (lineup.measure.energy)
    energy_source: str | None = None
    gpu_mem_mb: float | None = None
    # The error's template and values (generations.error_said): the report says it in its
    # language; None for an old row or an error stored without one.
    error_said: dict[str, Any] | None = None


def read_answers(store: Store, study_id: int) -> tuple[Answer, ...]:
    """Every answer of the study, item by item, then the model's place, then repeat."""
    query = study_answers(
        study_id,
        Generation.id,
        Generation.item_id,
        Generation.model_spec,
        Generation.repeat,
        Generation.status,
        func.length(func.coalesce(Generation.output_text, "")),
        Generation.ttft_s,
        Generation.total_s,
        Generation.tokens_per_s,
        Generation.rtf,
        Generation.transcript,
        Generation.output_text,
        Generation.error,
        Generation.audio_hash,
        Generation.wer,
        Generation.cer,
        Generation.cold,
        Generation.energy_j,
        Generation.energy_source,
        Generation.gpu_mem_mb,
        Generation.error_said,
    ).order_by(Generation.item_id, Generation.position, Generation.repeat)
    with store.session() as session:
        return tuple(
            Answer(
                id=int(row[0]),
                item_id=int(row[1] or 0),
                model=row[2],
                repeat=int(row[3] or 0),
                status=row[4],
                chars=int(row[5] or 0),
                ttft_s=row[6],
                total_s=row[7],
                tokens_per_s=row[8],
                rtf=row[9],
                transcript=row[10],
                text=row[11] or "",
                error=row[12],
                audio_hash=row[13],
                wer=row[14],
                cer=row[15],
                cold=row[16],
                energy_j=row[17],
                energy_source=row[18],
                gpu_mem_mb=row[19],
                error_said=row[20],
            )
            for row in session.execute(query)
        )

"""What a comparison was asked with, read back from its stored runs: to fill the page's form
with the run it shows, and to run the same inputs again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineup.run.contention import PARALLEL, TIMING_MODES
from lineup.store import Run


@dataclass(frozen=True)
class RunInputs:
    kind: str  # vlm | tts
    texts: tuple[str, ...]  # the question (one), or the sentences in order
    models: tuple[str, ...]  # the models or voices, in column order
    image_hash: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    timeout_s: float | None = None
    blind: bool = False
    samples: int = 1  # clips per voice
    stt: str | None = None  # None: the clips were not scored
    timing: str = PARALLEL  # lineup.run.contention; runs from before were all parallel


def _number(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def inputs_of(runs: Sequence[Run]) -> RunInputs:
    """The inputs of one VLM run, or of the runs of one TTS comparison (a run per sentence,
    in the order given). A study's run gives the inputs of a comparison of its item."""
    if not runs:
        raise ValueError("inputs_of needs at least one run.")
    first = runs[0]
    params = dict(first.params or {})
    specs = [g.model_spec for run in runs for g in run.generations]
    # A TTS comparison and a study name theirs; a study's run has a row per model and repeat.
    named = params.get("voices") or params.get("models")
    models = tuple(named if isinstance(named, list) else dict.fromkeys(specs))
    samples = _number(params, "samples")
    if samples is None:
        samples = 1 + max((g.sample_index for g in first.generations), default=0)
    stt = params.get("stt")
    timing = params.get("timing")
    return RunInputs(
        kind=first.kind,
        texts=tuple(run.input_text for run in runs) if first.kind == "tts" else (first.input_text,),
        models=models,
        image_hash=first.image_hash,
        system=first.system_prompt,
        temperature=_number(params, "temperature"),
        max_tokens=_number(params, "max_tokens"),
        seed=first.seed,
        timeout_s=_number(params, "timeout_s"),
        blind=first.blind,
        samples=int(samples),
        stt=stt if isinstance(stt, str) else None,
        timing=timing if timing in TIMING_MODES else PARALLEL,
    )

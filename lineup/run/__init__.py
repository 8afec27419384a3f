"""Comparisons in progress: several models at once, timed, kept alive, each answer finished once;
what ran where (the machine, what each model said about itself)."""

from lineup.run.contention import (
    FAIR,
    IN_FLIGHT,
    PARALLEL,
    THIS_MACHINE,
    TIMING_MODES,
    InFlightRegistry,
    TimingMode,
    check_timing,
    endpoint_of,
    fair_order,
    host_of,
)
from lineup.run.inputs import RunInputs, inputs_of
from lineup.run.liveness import active_run, track
from lineup.run.outcome import describe_error, failure_message, write_final
from lineup.run.provenance import (
    ColumnConditions,
    ProvenanceBook,
    card_facts,
    card_line,
    differences,
    host_words,
    machine_line,
    machine_snapshot,
)
from lineup.run.shutdown import run_stoppable
from lineup.run.stt_choice import (
    AUTO_STT,
    DEFAULT_STT,
    ENGLISH_STT,
    MULTILINGUAL_STT,
    STTChoice,
    first_refusal,
    sentence_language,
)
from lineup.run.tts import (
    ClipResult,
    TTSComparison,
    language_warnings,
    start_one_clip,
    start_tts_comparison,
)
from lineup.run.vlm import (
    BackendFactory,
    Comparison,
    GenerationResult,
    JobView,
    start_one,
    start_vlm_comparison,
)

__all__ = [
    "AUTO_STT",
    "ENGLISH_STT",
    "MULTILINGUAL_STT",
    "STTChoice",
    "first_refusal",
    "sentence_language",
    "FAIR",
    "IN_FLIGHT",
    "PARALLEL",
    "THIS_MACHINE",
    "TIMING_MODES",
    "InFlightRegistry",
    "TimingMode",
    "check_timing",
    "endpoint_of",
    "fair_order",
    "host_of",
    "BackendFactory",
    "ClipResult",
    "ColumnConditions",
    "Comparison",
    "DEFAULT_STT",
    "GenerationResult",
    "JobView",
    "ProvenanceBook",
    "RunInputs",
    "TTSComparison",
    "active_run",
    "card_facts",
    "host_words",
    "card_line",
    "describe_error",
    "failure_message",
    "differences",
    "inputs_of",
    "language_warnings",
    "machine_line",
    "machine_snapshot",
    "run_stoppable",
    "start_one",
    "start_one_clip",
    "start_tts_comparison",
    "start_vlm_comparison",
    "track",
    "write_final",
]

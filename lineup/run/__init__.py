"""Comparisons in progress: several models at once, timed, kept alive, each answer finished once."""

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
from lineup.run.outcome import describe_error, write_final
from lineup.run.shutdown import run_stoppable
from lineup.run.tts import (
    DEFAULT_STT,
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
    "Comparison",
    "DEFAULT_STT",
    "GenerationResult",
    "JobView",
    "RunInputs",
    "TTSComparison",
    "active_run",
    "describe_error",
    "inputs_of",
    "language_warnings",
    "run_stoppable",
    "start_one",
    "start_one_clip",
    "start_tts_comparison",
    "start_vlm_comparison",
    "track",
    "write_final",
]

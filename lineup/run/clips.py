"""One clip of a voice comparison: what it records (`ClipResult`), the events it sends, the
memory its synthesis takes (`RssPeak`, see lineup.run.tts) and its one-time finish."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from backends import compute
from backends.base import Backend
from lineup.core import ERROR, N_, OK, REDACTED_COUNT, Message, Status, redacted_values
from lineup.run.contention import InFlight
from lineup.run.outcome import write_final

if TYPE_CHECKING:
    from lineup.run.tts import TTSComparison

RSS_SAMPLE_S = 0.005
MIB = 1024 * 1024

EventKind = Literal["started", "audio", "done", "failed"]


@dataclass(frozen=True)
class ClipResult:
    """One clip as stored: what the page and the CLI show."""

    generation_id: int
    run_id: int
    voice: str
    text: str
    sentence_index: int
    sample: int
    seed: int | None
    status: Status
    error: str | None = None
    audio_hash: str | None = None
    audio_path: str | None = None
    sample_rate_hz: int | None = None
    audio_s: float | None = None
    gen_s: float | None = None
    rtf: float | None = None
    peak_mem_mb: float | None = None
    stt_spec: str | None = None
    stt_s: float | None = None
    transcript: str | None = None
    wer: float | None = None
    cer: float | None = None
    word_errors: int | None = None
    reference_words: int | None = None
    # Whether the clip included a model load (lineup.measure.timing.cold_start): None for voices.
    cold: bool | None = None
    energy_j: float | None = None  # the whole device's, over the synthesis (lineup.measure.energy)
    energy_source: str | None = None
    gpu_mem_mb: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # lineup.run.contention: None when its synthesis never started.
    concurrent_max: int | None = None
    concurrent_endpoint_max: int | None = None
    # The error's template and values, as stored in generations.error_said (Message.stored).
    error_said: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The clip for machines: its error is the English text alone."""
        document = asdict(self)
        del document["error_said"]
        return document


@dataclass(frozen=True)
class TTSEvent:
    """`started` (the clip began), `audio` (audio stored, being transcribed), `done`, `failed`.

    `audio` events carry `audio_hash`; `done` and `failed` carry the final `result`.
    """

    generation_id: int
    kind: EventKind
    audio_hash: str | None = None
    result: ClipResult | None = None


class RssPeak:
    """Peak RSS growth (MiB) while the `with` block runs, sampled by a thread; see the module."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak_mb: float | None = None

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def __enter__(self) -> RssPeak:
        self._baseline = self._rss()
        self._peak = self._baseline
        self._thread = threading.Thread(target=self._sample, name="lineup-rss", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_S):
            self._peak = max(self._peak, self._rss())

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._rss())
        self.peak_mb = (self._peak - self._baseline) / MIB


def computing(backend: Backend) -> AbstractContextManager[None]:
    """In-process engines take turns (gen_s and peak_mem_mb measure one engine at a time);
    subprocess and HTTP engines run freely."""
    return compute.exclusive() if backend.in_process else nullcontext()


class Clip:
    """One (sentence, voice, sample): its row, its one-time finish and its event."""

    def __init__(
        self,
        comparison: TTSComparison,
        generation_id: int,
        run_id: int,
        voice: str,
        text: str,
        sentence_index: int,
        sample: int,
        seed: int | None,
        language: str | None = None,
    ) -> None:
        self.comparison = comparison
        self.generation_id = generation_id
        self.run_id = run_id
        self.voice = voice
        self.text = text
        self.sentence_index = sentence_index
        self.sample = sample
        self.seed = seed
        # The sentence's language as its set gives it (None: guessed from its script when scored).
        self.language = language
        self.fields: dict[str, Any] = {}
        self.in_flight: InFlight | None = None  # while its synthesis runs
        self.result: ClipResult | None = None
        self.finished = threading.Event()
        self._finish_lock = threading.Lock()

    def update(self, **fields: Any) -> None:
        with self._finish_lock:
            self.fields.update(fields)

    def progress(self) -> tuple[str | None, str | None]:
        return None, None  # a clip has no text to save while it runs; only its heartbeat

    def finish(self, status: Status, error: str | Message | None = None) -> bool:
        """Write the row and the event once; False when the clip had already finished.

        Never raises: a row the store refuses is recorded as an error with its cause.
        """
        with self._finish_lock:
            if self.finished.is_set():
                return False
            fields = dict(self.fields)
            if self.in_flight is not None:
                # A timeout ends the clip while its synthesis may still run: counted until now.
                self.in_flight.leave()
                fields.update(self.in_flight.figures())
            metadata = fields.pop("backend_metadata", {})
            audio_path = fields.pop("audio_path", None)
            secrets = self.comparison.secrets
            # A voice can say a configured key, and the STT write it down (lineup.core.redaction).
            message = Message(error) if isinstance(error, str) else error
            english = message.english if message is not None else None
            (stored_error, transcript), hidden = redacted_values(
                [english, fields.get("transcript")], secrets
            )
            # The values are the error's own words again: redacted alike, not counted twice.
            error_said = redacted_values(message.stored(), secrets)[0] if message else None
            if transcript is not None:
                fields["transcript"] = transcript
            if hidden:
                metadata = {**metadata, REDACTED_COUNT: hidden}
            failure = write_final(
                self.comparison.store,
                self.generation_id,
                status,
                {
                    **fields,
                    "error": stored_error,
                    "error_said": error_said,
                    "backend_metadata": metadata,
                },
            )
            if failure is not None:
                status, stored_error, error_said = ERROR, failure.english, failure.stored()
            try:
                self.result = ClipResult(
                    generation_id=self.generation_id,
                    run_id=self.run_id,
                    voice=self.voice,
                    text=self.text,
                    sentence_index=self.sentence_index,
                    sample=self.sample,
                    seed=self.seed,
                    status=status,
                    error=stored_error,
                    error_said=error_said,
                    audio_path=audio_path,
                    metadata=metadata,
                    **fields,
                )
            except Exception as exc:  # noqa: BLE001 - a bug here must not leave the clip open
                failed = Message.of(
                    N_("Lineup failed to record this clip: {error}"),
                    error=f"{type(exc).__name__}: {exc}",
                )
                self.result = ClipResult(
                    self.generation_id,
                    self.run_id,
                    self.voice,
                    self.text,
                    self.sentence_index,
                    self.sample,
                    self.seed,
                    ERROR,
                    failed.english,
                    error_said=failed.stored(),
                )
            # The event goes out before the clip counts as finished: a reader that finds every
            # clip finished and the queue empty has had every event (EventRun.iter_events).
            kind: EventKind = "done" if self.result.status == OK else "failed"
            self.comparison.events.put(TTSEvent(self.generation_id, kind, result=self.result))
            self.finished.set()
            return True


def jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    """Backend metadata as JSON-safe plain values (numpy scalars to Python)."""
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if hasattr(value, "item"):
            value = value.item()
        if value is None or isinstance(value, str | int | float | bool):
            clean[str(key)] = value
        else:
            clean[str(key)] = str(value)
    return clean

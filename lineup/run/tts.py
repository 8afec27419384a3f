"""Speaks sentences with several voices at once, K samples each, and scores every clip by a
speech-to-text round trip; reports to the caller over a queue, like lineup.runner for VLMs.

One run is stored per sentence (its input_text is the sentence), with one generation row per
(voice, sample). Each voice gets a worker thread that makes its clips one after another;
voices run at the same time. For each clip the worker

1. synthesizes (gen_s: `time.perf_counter()` around `synthesize()` alone; loading a model
   happens before, in the backend factory, and is not counted),
2. stores the audio as 16-bit WAV in the media store (audio_hash),
3. computes audio_s (samples / sample rate), rtf = gen_s / audio_s, sample_rate_hz,
4. transcribes with the STT backend and scores with lineup.scoring (transcript, wer, cer),
5. writes the row, and puts a `done` event (or a `failed` one: any failure or timeout is
   that clip's error row and never stops the other clips).

peak_mem_mb, for in-process engines only (`in_process = True`: Piper, Bark): the highest
resident set size (RSS) of the process, sampled every 5 ms by a thread while `synthesize()`
runs (plus one sample at its end), minus the RSS just before the call, in MiB. It is the
extra memory this clip's synthesis needed on top of what was already resident (the model's
weights, loaded earlier, are not in it; memory an earlier call left reserved shows as 0).
tracemalloc would miss it: onnxruntime's and torch's buffers are native allocations. So
that no other in-process work shows up in the figure, in-process synthesis and
transcription hold the process's one compute lock (`backends.compute`, which also owns torch's
random generator) while they run; subprocess and HTTP engines (espeak-ng, openai-tts) run
freely and have no peak_mem_mb.

Samples: sample k of every voice and sentence uses seed `seed + k`; voices compare on the
same seeds. Every voice is given its sample's seed; engines that cannot use it
(`supports_seed = False`: espeak-ng, Piper, HTTP servers) still make K clips.

timeout_s holds for each clip, from its start (a wait for the compute lock included) to its
score. A clip that runs past it becomes an error row at once; the voice's later clips are
skipped (their engine is still busy), the other voices go on.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from backends import compute
from backends.base import Audio, Backend, STTBackend, TTSBackend
from backends.registry import check_spec
from backends.spec import ModelSpec
from backends.wav import to_wav_bytes
from lineup.core import (
    CANCELLED,
    ERROR,
    INTERRUPTED,
    OK,
    REDACTED_COUNT,
    TIMEOUT,
    InputError,
    redacted_values,
)
from lineup.measure import guess_language, language_warning, score
from lineup.run import liveness
from lineup.run.vlm import EventRun, Status, describe_error, timeout_message, write_final
from lineup.store import MediaStore, Store

DEFAULT_STT = "faster-whisper:tiny.en"
RSS_SAMPLE_S = 0.005
MIB = 1024 * 1024

EventKind = Literal["started", "audio", "done", "failed"]
BackendFactory = Callable[[str], Any]
SpecResolver = Callable[[str], ModelSpec]


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
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TTSEvent:
    """`started` (the clip began), `audio` (audio stored, being transcribed), `done`, `failed`.

    `audio` events carry `audio_hash`; `done` and `failed` carry the final `result`.
    """

    generation_id: int
    kind: EventKind
    audio_hash: str | None = None
    result: ClipResult | None = None


class _RssPeak:
    """Peak RSS growth (MiB) while the `with` block runs, sampled by a thread; see the module."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak_mb: float | None = None

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def __enter__(self) -> _RssPeak:
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


def _computing(backend: Backend) -> AbstractContextManager[None]:
    """In-process engines take turns (gen_s and peak_mem_mb measure one engine at a time);
    subprocess and HTTP engines run freely."""
    return compute.exclusive() if backend.in_process else nullcontext()


class _Clip:
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
    ) -> None:
        self.comparison = comparison
        self.generation_id = generation_id
        self.run_id = run_id
        self.voice = voice
        self.text = text
        self.sentence_index = sentence_index
        self.sample = sample
        self.seed = seed
        self.fields: dict[str, Any] = {}
        self.result: ClipResult | None = None
        self.finished = threading.Event()
        self._finish_lock = threading.Lock()

    def update(self, **fields: Any) -> None:
        with self._finish_lock:
            self.fields.update(fields)

    def progress(self) -> tuple[str | None, str | None]:
        return None, None  # a clip has no text to save while it runs; only its heartbeat

    def finish(self, status: Status, error: str | None = None) -> bool:
        """Write the row and the event once; False when the clip had already finished.

        Never raises: a row the store refuses is recorded as an error with its cause.
        """
        with self._finish_lock:
            if self.finished.is_set():
                return False
            fields = dict(self.fields)
            metadata = fields.pop("backend_metadata", {})
            audio_path = fields.pop("audio_path", None)
            secrets = self.comparison.secrets
            # A voice can say a configured key, and the STT write it down (lineup.redact).
            (error, transcript), hidden = redacted_values(
                [error, fields.get("transcript")], secrets
            )
            if transcript is not None:
                fields["transcript"] = transcript
            if hidden:
                metadata = {**metadata, REDACTED_COUNT: hidden}
            failure = write_final(
                self.comparison.store,
                self.generation_id,
                status,
                {**fields, "error": error, "backend_metadata": metadata},
            )
            if failure is not None:
                status, error = ERROR, failure
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
                    error=error,
                    audio_path=audio_path,
                    metadata=metadata,
                    **fields,
                )
            except Exception as exc:  # noqa: BLE001 - a bug here must not leave the clip open
                self.result = ClipResult(
                    self.generation_id,
                    self.run_id,
                    self.voice,
                    self.text,
                    self.sentence_index,
                    self.sample,
                    self.seed,
                    ERROR,
                    f"Lineup failed to record this clip: {type(exc).__name__}: {exc}",
                )
            self.finished.set()
            kind: EventKind = "done" if self.result.status == OK else "failed"
            self.comparison.events.put(TTSEvent(self.generation_id, kind, result=self.result))
            return True


class TTSComparison(EventRun[TTSEvent, ClipResult]):
    """Runs in progress (one per sentence): one worker per voice, all started at once."""

    def __init__(
        self,
        store: Store,
        media: MediaStore,
        run_ids: list[int],
        *,
        stt: str | None,
        timeout_s: float,
        spec_of: SpecResolver,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.secrets = tuple(secrets)
        self.store = store
        self.media = media
        self.run_ids = run_ids
        self.stt = stt
        self.timeout_s = timeout_s
        self.spec_of = spec_of
        self.clips: list[_Clip] = []
        self._lanes: dict[str, list[_Clip]] = {}

    @property
    def run_id(self) -> int:
        """The first sentence's run (the only one when a single sentence was spoken)."""
        return self.run_ids[0]

    def add(self, clip: _Clip) -> None:
        self.clips.append(clip)
        self._lanes.setdefault(clip.voice, []).append(clip)

    def cancel(self) -> None:
        """Stop: every clip not finished yet becomes `cancelled` (a synthesis already under
        way in process runs to its end, but its result is not kept)."""
        for clip in self.clips:
            clip.finish(CANCELLED, "Stopped before this clip was made.")

    def interrupt(self, why: str) -> None:
        for clip in self.clips:
            clip.finish(INTERRUPTED, f"Interrupted: {why}.")

    def start(self, factory: BackendFactory) -> None:
        liveness.track(self)
        for clip in self.clips:
            liveness.keep_alive(self.store, clip)
        for voice, clips in self._lanes.items():
            worker = threading.Thread(
                target=self._run_lane,
                args=(factory, voice, clips),
                name=f"lineup-tts-{voice}",
                daemon=True,
            )
            worker.start()

    # The worker --------------------------------------------------------------------------

    def _run_lane(self, factory: BackendFactory, voice: str, clips: list[_Clip]) -> None:
        try:
            # May load an in-process model (once per process); not part of any clip's gen_s.
            preset = self.spec_of(voice).preset
            backend: TTSBackend = factory(voice)
        except BaseException as exc:  # noqa: BLE001 - this voice alone fails
            message = describe_error(exc)
            for clip in clips:
                clip.finish(ERROR, message)
            return
        for index, clip in enumerate(clips):
            if clip.finished.is_set():
                continue  # failed by an earlier clip's timeout
            timer = threading.Timer(self.timeout_s, self._time_out, args=(clips, index))
            timer.daemon = True
            self.track_timer(timer)
            timer.start()
            try:
                self._run_clip(factory, backend, preset, clip)
            except BaseException as exc:  # noqa: BLE001 - any failure belongs to this clip
                clip.finish(ERROR, describe_error(exc))
            finally:
                timer.cancel()

    def _time_out(self, clips: list[_Clip], index: int) -> None:
        clips[index].finish(TIMEOUT, timeout_message(self.timeout_s, "voice"))
        # The engine is still busy with that clip, so the voice's later clips cannot start.
        for later in clips[index + 1 :]:
            later.finish(
                ERROR,
                f"Skipped: sample {clips[index].sample + 1} of this voice timed out and its "
                "engine is still busy.",
            )

    def _run_clip(
        self, factory: BackendFactory, backend: TTSBackend, preset: str | None, clip: _Clip
    ) -> None:
        self.events.put(TTSEvent(clip.generation_id, "started"))
        peak_mem_mb: float | None = None
        with _computing(backend):
            meter = _RssPeak() if backend.in_process else None
            started = time.perf_counter()
            if meter is not None:
                with meter:
                    audio: Audio = backend.synthesize(clip.text, preset, seed=clip.seed)
                peak_mem_mb = meter.peak_mb
            else:
                audio = backend.synthesize(clip.text, preset, seed=clip.seed)
            gen_s = time.perf_counter() - started
        if clip.finished.is_set():
            return  # timed out meanwhile: its row is written
        audio_s = audio.audio_s
        wav = to_wav_bytes(audio)
        audio_hash = self.media.put(wav, ".wav")
        clip.update(
            audio_hash=audio_hash,
            audio_path=str(self.media.path(audio_hash)),
            sample_rate_hz=int(audio.sample_rate_hz),
            audio_s=audio_s,
            gen_s=gen_s,
            rtf=gen_s / audio_s if audio_s > 0 else None,
            peak_mem_mb=peak_mem_mb,
            backend_metadata=_jsonable(audio.metadata),
        )
        if audio_s <= 0:
            clip.finish(ERROR, "The voice returned no audio for this text.")
            return
        self.events.put(TTSEvent(clip.generation_id, "audio", audio_hash=audio_hash))
        if self.stt is None:
            clip.finish(OK)
            return
        try:
            stt: STTBackend = factory(self.stt)
            with _computing(stt):
                transcribing = time.perf_counter()
                transcript = stt.transcribe(audio)
                stt_s = time.perf_counter() - transcribing
        except BaseException as exc:  # noqa: BLE001 - the audio is kept; the score is missing
            clip.finish(ERROR, f"Transcription with {self.stt} failed: {describe_error(exc)}")
            return
        result = score(clip.text, transcript.text, guess_language(clip.text))
        clip.update(
            stt_spec=self.stt,
            stt_s=stt_s,
            transcript=transcript.text,
            wer=result.wer,
            cer=result.cer,
            word_errors=result.word_errors,
            reference_words=result.reference_words,
        )
        clip.finish(OK)

    def members(self) -> Sequence[_Clip]:
        """Clips in order: sentence, then voice as given, then sample."""
        return self.clips


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
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


def _default_spec_of(voice: str) -> ModelSpec:
    return check_spec(voice, "tts")


def start_tts_comparison(
    store: Store,
    media: MediaStore,
    voices: list[str],
    texts: str | list[str],
    factory: BackendFactory,
    *,
    samples: int = 1,
    stt: str | None = DEFAULT_STT,
    timeout_s: float = 300.0,
    seed: int | None = None,
    spec_of: SpecResolver = _default_spec_of,
    secrets: Sequence[str] = (),
) -> TTSComparison:
    """Store one run per sentence and a `running` row per (voice, sample), then start every
    voice at once.

    `factory(spec)` builds a backend (TTS for voices, STT for `stt`); `spec_of(voice)` gives
    the voice's parsed spec, whose preset is passed to `synthesize()`. `seed` is the first
    sample's seed (random when None); sample k uses `seed + k`. `stt=None` skips scoring.
    """
    sentences = [texts] if isinstance(texts, str) else list(texts)
    sentences = [s.strip() for s in sentences if s.strip()]
    if not sentences:
        raise InputError("Type a sentence for the voices to speak.")
    if not voices:
        raise InputError("Choose at least one voice.")
    if samples < 1:
        raise InputError(f"The number of samples must be at least 1, not {samples}.")
    base_seed = seed if seed is not None else random.randrange(2**31 - samples)
    batch_id = uuid.uuid4().hex
    run_ids = [
        store.create_run(
            "tts",
            sentence,
            params={
                "voices": voices,
                "samples": samples,
                "stt": stt,
                "timeout_s": timeout_s,
                "batch_id": batch_id,
                "sentence_index": index,
                "sentences": len(sentences),
            },
            seed=base_seed,
        )
        for index, sentence in enumerate(sentences)
    ]
    comparison = TTSComparison(
        store, media, run_ids, stt=stt, timeout_s=timeout_s, spec_of=spec_of, secrets=secrets
    )
    for index, (run_id, sentence) in enumerate(zip(run_ids, sentences, strict=True)):
        for voice_index, voice in enumerate(voices):
            for sample in range(samples):
                clip_seed = base_seed + sample
                generation_id = store.add_generation(
                    run_id,
                    voice,
                    position=voice_index * samples + sample,
                    sample_index=sample,
                    seed=clip_seed,
                )
                comparison.add(
                    _Clip(
                        comparison, generation_id, run_id, voice, sentence, index, sample, clip_seed
                    )
                )
    comparison.start(factory)
    return comparison


def start_one_clip(
    store: Store,
    media: MediaStore,
    run_id: int,
    generation_id: int,
    voice: str,
    text: str,
    factory: BackendFactory,
    *,
    sentence_index: int,
    sample: int,
    seed: int | None,
    stt: str | None,
    timeout_s: float,
    spec_of: SpecResolver = _default_spec_of,
    secrets: Sequence[str] = (),
) -> TTSComparison:
    """One clip into a `running` row that already exists (a study claims its rows one by
    one): the same timing, scoring, states and storage as a comparison's."""
    comparison = TTSComparison(
        store, media, [run_id], stt=stt, timeout_s=timeout_s, spec_of=spec_of, secrets=secrets
    )
    comparison.add(
        _Clip(comparison, generation_id, run_id, voice, text, sentence_index, sample, seed)
    )
    comparison.start(factory)
    return comparison


def language_warnings(
    texts: str | list[str],
    voices: list[str],
    factory: BackendFactory,
    *,
    spec_of: SpecResolver = _default_spec_of,
    stt: str | None = None,
) -> list[str]:
    """Warnings to show before a run: each voice, and the STT model if given, that cannot
    handle the script of one of the sentences (one warning per voice, not per sentence).

    Builds each backend (in-process ones load once and are reused by the run); one that
    cannot be built gives no warning here: its run shows the error.
    """
    sentences = [texts] if isinstance(texts, str) else list(texts)
    checks: list[tuple[str, str | None]] = []
    for voice in dict.fromkeys(voices):
        try:
            checks.append((voice, spec_of(voice).preset))
        except Exception:  # noqa: BLE001 - reported by the run itself
            continue
    if stt is not None:
        checks.append((stt, None))
    warnings: list[str] = []
    for name, preset in checks:
        try:
            backend = factory(name)
        except Exception:  # noqa: BLE001 - reported by the run itself
            continue
        for sentence in sentences:
            warning = language_warning(sentence, backend, preset, name=name)
            if warning:
                warnings.append(warning)
                break
    return warnings

"""Speaks sentences with several voices at once, K samples each, and scores every clip by a
speech-to-text round trip; reports to the caller over a queue, like lineup.run.vlm for VLMs.

One run is stored per sentence (its input_text is the sentence), with one generation row per
(voice, sample). Each voice gets a worker thread that makes its clips one after another;
voices run at the same time. For each clip the worker

1. synthesizes (gen_s: `time.perf_counter()` around `synthesize()` alone; loading a model
   happens before, in the backend factory, and is not counted),
2. stores the audio as 16-bit WAV in the media store (audio_hash),
3. computes audio_s (samples / sample rate), rtf = gen_s / audio_s, sample_rate_hz,
4. transcribes with the STT model chosen for the sentence's language (lineup.run.stt_choice:
   its set item's `language` in a study, else guessed from its script; the language is passed
   to the model), stores which model it was (stt_spec), and scores with lineup.measure.wer
   (transcript, wer, cer) in that language; a model that cannot hear the language is refused
   (the clip keeps its audio and gets an error, no WER),
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

Timing (lineup.run.contention): `parallel` as above; `fair` gives each host one worker that
makes its voices' clips one at a time, round by round (sentence, then sample), the voices of a
round in fair_order(voices, sentence, sample), holding the host's turn for each clip (a voice
that times out keeps the host busy until its engine returns). A clip is in flight while its
`synthesize()` runs (inside the compute lock for in-process engines, so two in-process voices
never overlap).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from backends.base import Audio, STTBackend, TTSBackend
from backends.wav import to_wav_bytes
from lineup.catalog import ResolvedModel
from lineup.core import (
    CANCELLED,
    ERROR,
    INTERRUPTED,
    N_,
    OK,
    TIMEOUT,
    InputError,
    Message,
    _,
    redact,
)
from lineup.measure import language_warning, score
from lineup.run import liveness
from lineup.run.clips import Clip, ClipResult, RssPeak, TTSEvent, computing, jsonable
from lineup.run.contention import (
    FAIR,
    HOST_TURNS,
    IN_FLIGHT,
    PARALLEL,
    InFlightRegistry,
    TimingMode,
    Turn,
    fair_order,
    host_of,
)
from lineup.run.events import EventRun
from lineup.run.meters import meters
from lineup.run.outcome import failure_message, timeout_message
from lineup.run.provenance import ProvenanceBook, machine_snapshot
from lineup.run.stt_choice import STTChoice, first_refusal, refusal, sentence_language
from lineup.store import MediaStore, Store

# What builds a voice's or the STT model's backend: ResolvedModel.backend, or a test's fake.
BackendFactory = Callable[[ResolvedModel], Any]


def built(model: ResolvedModel) -> Any:
    """The model's own backend (ResolvedModel.backend): the factory when none is given."""
    return model.backend()


class TTSComparison(EventRun[TTSEvent, ClipResult]):
    """Runs in progress (one per sentence): one worker per voice, all started at once."""

    def __init__(
        self,
        store: Store,
        media: MediaStore,
        run_ids: list[int],
        *,
        stt: STTChoice | None,
        timeout_s: float,
        secrets: Sequence[str] = (),
        provenance: ProvenanceBook | None = None,
        timing: TimingMode = PARALLEL,
        registry: InFlightRegistry = IN_FLIGHT,
    ) -> None:
        super().__init__()
        self.timing = timing
        self.registry = registry
        self.secrets = tuple(secrets)
        self.store = store
        self.media = media
        self.run_ids = run_ids
        self.stt = stt
        self.timeout_s = timeout_s
        self.clips: list[Clip] = []
        self._lanes: dict[str, tuple[ResolvedModel, list[Clip]]] = {}
        # What each voice says about itself: this comparison's own book (for every sentence's
        # run), or its study's; asked when the last worker has returned.
        self.provenance = provenance or ProvenanceBook(store, run_ids=run_ids, secrets=secrets)
        self._built: dict[str, tuple[ResolvedModel, Any, str | None]] = {}
        self._returned = 0
        self._workers = 0
        self._returned_lock = threading.Lock()
        self.settled = threading.Event()

    @property
    def run_id(self) -> int:
        """The first sentence's run (the only one when a single sentence was spoken)."""
        return self.run_ids[0]

    def add(self, voice: ResolvedModel, clip: Clip) -> None:
        """A clip of `voice` (whose name the clip holds), made in that voice's lane."""
        self.clips.append(clip)
        self._lanes.setdefault(voice.name, (voice, []))[1].append(clip)

    def cancel(self) -> None:
        """Stop: every clip not finished yet becomes `cancelled` (a synthesis already under
        way in process runs to its end, but its result is not kept)."""
        for clip in self.clips:
            clip.finish(CANCELLED, Message.of(N_("Stopped before this clip was made.")))

    def interrupt(self, why: Message) -> None:
        for clip in self.clips:
            clip.finish(INTERRUPTED, Message.of(N_("Interrupted: {why}."), why=why))

    def start(self, factory: BackendFactory) -> None:
        liveness.track(self)
        for clip in self.clips:
            liveness.keep_alive(self.store, clip)
        schedules = self.schedules()
        self._workers = len(schedules)  # the last of them to return asks the voices
        for name, steps in schedules.items():
            worker = threading.Thread(
                target=self._schedule,
                args=(factory, steps),
                name=f"lineup-tts-{name}",
                daemon=True,
            )
            worker.start()

    def schedules(self) -> dict[str, list[tuple[ResolvedModel, Clip]]]:
        """Each worker's clips in the order it makes them: one worker per voice (parallel),
        or per host with its voices' clips round by round in the fair order (fair)."""
        if self.timing != FAIR:
            return {
                name: [(voice, clip) for clip in clips]
                for name, (voice, clips) in self._lanes.items()
            }
        hosts: dict[str, list[ResolvedModel]] = {}
        for voice, _clips in self._lanes.values():
            hosts.setdefault(host_of(voice.lane.endpoint), []).append(voice)
        schedules: dict[str, list[tuple[ResolvedModel, Clip]]] = {}
        for host, voices in hosts.items():
            by_round: dict[tuple[int, int], dict[str, Clip]] = {}
            for voice in voices:
                for clip in self._lanes[voice.name][1]:
                    by_round.setdefault((clip.sentence_index, clip.sample), {})[voice.name] = clip
            steps = schedules[host] = []
            for (sentence, sample), clips in sorted(by_round.items()):
                for voice in fair_order(voices, sentence, sample):
                    if voice.name in clips:
                        steps.append((voice, clips[voice.name]))
        return schedules

    # The worker --------------------------------------------------------------------------

    def _schedule(self, factory: BackendFactory, steps: list[tuple[ResolvedModel, Clip]]) -> None:
        try:
            self._run_schedule(factory, steps)
        finally:
            self._after()

    def _after(self) -> None:
        """The last worker to return asks every voice about itself (lineup.run.provenance),
        after every clip is final, so no probe shares a timed synthesis."""
        with self._returned_lock:
            self._returned += 1
            last = self._returned == self._workers
        if not last:
            return
        try:
            for voice, backend, not_built in self._built.values():
                self.provenance.note(voice, backend, failed=not_built)
        finally:
            self.settled.set()

    def settle(self, timeout_s: float = 8.0) -> bool:
        """Wait (at most `timeout_s`) until every voice was asked about itself."""
        return self.settled.wait(timeout_s)

    def provenance_of(self, voice: str) -> dict[str, Any] | None:
        return self.provenance.get(voice)

    def _run_schedule(
        self, factory: BackendFactory, steps: list[tuple[ResolvedModel, Clip]]
    ) -> None:
        backends: dict[str, TTSBackend] = {}
        for index, (voice, clip) in enumerate(steps):
            if clip.finished.is_set():
                continue  # failed by an earlier clip's timeout, or its voice's backend
            later = [c for v, c in steps[index + 1 :] if v.name == voice.name]
            backend = backends.get(voice.name)
            if backend is None:
                try:
                    # May load an in-process model (once per process); not in any clip's gen_s.
                    backend = backends[voice.name] = factory(voice)
                except BaseException as exc:  # noqa: BLE001 - this voice alone fails
                    message = failure_message(exc)
                    self._built[voice.name] = (
                        voice,
                        None,
                        f"not asked: the voice did not load ({message})",
                    )
                    for failed in [clip, *later]:
                        failed.finish(ERROR, message)
                    continue
                self._built[voice.name] = (voice, backend, None)
            timer = threading.Timer(self.timeout_s, self._time_out, args=(clip, later))
            timer.daemon = True
            self.track_timer(timer)
            timer.start()
            turn = (
                Turn(HOST_TURNS.of(host_of(voice.lane.endpoint))) if self.timing == FAIR else None
            )
            try:
                if turn is None or turn.take(clip.finished):
                    self._run_clip(factory, backend, voice, clip)
            except BaseException as exc:  # noqa: BLE001 - any failure belongs to this clip
                clip.finish(ERROR, failure_message(exc))
            finally:
                timer.cancel()
                if turn is not None:
                    turn.give_back()

    def _time_out(self, clip: Clip, later: list[Clip]) -> None:
        clip.finish(TIMEOUT, timeout_message(self.timeout_s, "voice"))
        # The engine is still busy with that clip, so the voice's later clips cannot start.
        for skipped in later:
            skipped.finish(
                ERROR,
                Message.of(
                    N_(
                        "Skipped: sample {sample} of this voice timed out and its engine is "
                        "still busy."
                    ),
                    sample=clip.sample + 1,
                ),
            )

    def _run_clip(
        self, factory: BackendFactory, backend: TTSBackend, voice: ResolvedModel, clip: Clip
    ) -> None:
        preset = voice.preset
        self.events.put(TTSEvent(clip.generation_id, "started"))
        peak_mem_mb: float | None = None
        with computing(backend):
            meter = RssPeak() if backend.in_process else None
            counters = meters().start(gpu_memory=backend.in_process)
            clip.in_flight = self.registry.enter(voice.lane.endpoint)
            try:
                started = time.perf_counter()
                if meter is not None:
                    with meter:
                        audio: Audio = backend.synthesize(clip.text, preset, seed=clip.seed)
                    peak_mem_mb = meter.peak_mb
                else:
                    audio = backend.synthesize(clip.text, preset, seed=clip.seed)
                gen_s = time.perf_counter() - started
            finally:
                clip.in_flight.leave()
            hardware = counters.fields()
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
            # Voices say nothing about loads: an in-process one loads before its first clip's
            # clock (lineup.measure.timing.cold_start).
            cold=None,
            **hardware,
            backend_metadata=jsonable(audio.metadata),
        )
        if audio_s <= 0:
            clip.finish(ERROR, Message.of(N_("The voice returned no audio for this text.")))
            return
        self.events.put(TTSEvent(clip.generation_id, "audio", audio_hash=audio_hash))
        if self.stt is None:
            clip.finish(OK)
            return
        language = sentence_language(clip.text, clip.language)
        model = self.stt.model_for(language)
        try:
            stt: STTBackend = factory(model)
            refused = refusal(model.name, stt, language, auto=self.stt.named is None)
            if refused is not None:
                clip.finish(ERROR, refused)  # the audio is kept; no transcript, no WER
                return
            with computing(stt):
                # In flight beside the other voices on this machine; its own count is not kept.
                transcribing_beside = self.registry.enter(model.lane.endpoint)
                try:
                    transcribing = time.perf_counter()
                    transcript = stt.transcribe(audio, language=language)
                    stt_s = time.perf_counter() - transcribing
                finally:
                    transcribing_beside.leave()
        except BaseException as exc:  # noqa: BLE001 - the audio is kept; the score is missing
            clip.finish(
                ERROR,
                Message.of(
                    N_("Transcription with {stt} failed: {error}"),
                    stt=model.name,
                    error=failure_message(exc),
                ),
            )
            return
        result = score(clip.text, transcript.text, clip.language or language)
        clip.update(
            stt_spec=model.name,
            stt_s=stt_s,
            transcript=transcript.text,
            wer=result.wer,
            cer=result.cer,
            word_errors=result.word_errors,
            reference_words=result.reference_words,
        )
        clip.finish(OK)

    def members(self) -> Sequence[Clip]:
        """Clips in order: sentence, then voice as given, then sample."""
        return self.clips


def start_tts_comparison(
    store: Store,
    media: MediaStore,
    voices: Sequence[ResolvedModel],
    texts: str | list[str],
    factory: BackendFactory = built,
    *,
    samples: int = 1,
    stt: STTChoice | None = None,
    timeout_s: float = 300.0,
    seed: int | None = None,
    secrets: Sequence[str] = (),
    timing: TimingMode = PARALLEL,
) -> TTSComparison:
    """Store one run per sentence and a `running` row per (voice, sample), then start every
    voice at once (`parallel`), or each host's voices one clip at a time (`fair`).

    `factory(model)` builds a backend (TTS for voices, STT for `stt`); a voice's preset is
    passed to `synthesize()`. `seed` is the first sample's seed (random when None); sample k
    uses `seed + k`. `stt` chooses the STT model per sentence language (lineup.run.stt_choice);
    None skips scoring.
    """
    sentences = [texts] if isinstance(texts, str) else list(texts)
    sentences = [s.strip() for s in sentences if s.strip()]
    if not sentences:
        raise InputError(_("Type a sentence for the voices to speak."))
    if not voices:
        raise InputError(_("Choose at least one voice."))
    if samples < 1:
        raise InputError(
            _("The number of samples must be at least 1, not {samples}.").format(samples=samples)
        )
    base_seed = seed if seed is not None else random.randrange(2**31 - samples)
    batch_id = uuid.uuid4().hex
    run_ids = [
        store.create_run(
            "tts",
            sentence,
            params={
                "voices": [voice.name for voice in voices],
                "samples": samples,
                "stt": stt.name if stt is not None else None,
                "timeout_s": timeout_s,
                "batch_id": batch_id,
                "sentence_index": index,
                "sentences": len(sentences),
                "timing": timing,
            },
            seed=base_seed,
            machine=machine_snapshot(),
        )
        for index, sentence in enumerate(sentences)
    ]
    comparison = TTSComparison(
        store, media, run_ids, stt=stt, timeout_s=timeout_s, secrets=secrets, timing=timing
    )
    for index, (run_id, sentence) in enumerate(zip(run_ids, sentences, strict=True)):
        for voice_index, voice in enumerate(voices):
            for sample in range(samples):
                clip_seed = base_seed + sample
                generation_id = store.add_generation(
                    run_id,
                    voice.name,
                    resolved_spec=redact(voice.resolved_spec, secrets),
                    position=voice_index * samples + sample,
                    sample_index=sample,
                    seed=clip_seed,
                )
                clip = Clip(
                    comparison,
                    generation_id,
                    run_id,
                    voice.name,
                    sentence,
                    index,
                    sample,
                    clip_seed,
                )
                comparison.add(voice, clip)
    comparison.start(factory)
    return comparison


def start_one_clip(
    store: Store,
    media: MediaStore,
    run_id: int,
    generation_id: int,
    voice: ResolvedModel,
    text: str,
    factory: BackendFactory = built,
    *,
    sentence_index: int,
    sample: int,
    seed: int | None,
    stt: STTChoice | None,
    timeout_s: float,
    secrets: Sequence[str] = (),
    language: str | None = None,
    provenance: ProvenanceBook | None = None,
    timing: TimingMode = PARALLEL,
) -> TTSComparison:
    """One clip into a `running` row that already exists (a study claims its rows one by
    one): the same timing, scoring, states and storage as a comparison's. `language` is the
    sentence's (its set item's), for the choice of STT model and the WER's number words; None
    guesses it from the script. `provenance`: the study's book, so each voice is asked about
    itself once per study."""
    comparison = TTSComparison(
        store,
        media,
        [run_id],
        stt=stt,
        timeout_s=timeout_s,
        secrets=secrets,
        provenance=provenance,
        timing=timing,
    )
    clip = Clip(
        comparison,
        generation_id,
        run_id,
        voice.name,
        text,
        sentence_index,
        sample,
        seed,
        language=language,
    )
    comparison.add(voice, clip)
    comparison.start(factory)
    return comparison


def language_warnings(
    texts: str | list[str],
    voices: Sequence[ResolvedModel],
    factory: BackendFactory = built,
    *,
    stt: STTChoice | None = None,
) -> list[str]:
    """Warnings to show before a run: each voice that cannot speak the script of one of the
    sentences (one warning per voice, not per sentence), and the refusal the STT model would
    meet (lineup.run.stt_choice: the run would not start).

    Builds each backend (in-process ones load once and are reused by the run); one that
    cannot be built gives no warning here: its run shows the error.
    """
    sentences = [texts] if isinstance(texts, str) else list(texts)
    warnings: list[str] = []
    for voice in {v.name: v for v in voices}.values():
        try:
            backend = factory(voice)
        except Exception:  # noqa: BLE001 - reported by the run itself
            continue
        for sentence in sentences:
            warning = language_warning(sentence, backend, voice.preset, name=voice.name)
            if warning:
                warnings.append(warning)
                break
    if stt is not None:
        refused = first_refusal(stt, [(sentence, None) for sentence in sentences], factory)
        if refused is not None:
            warnings.append(refused)
    return warnings

"""lineup.tts_runner with stand-in engines: rows, seeds, errors, timeouts, memory, events.

The stand-ins are small classes with the TTS/STT protocols; the real engines are exercised in
tests/integration/test_speech_offline.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from backends.base import Audio, BackendError, STTBackend, Transcript, TTSBackend
from backends.spec import parse_spec
from backends.wav import from_wav_bytes
from lineup.run.stt_choice import STTChoice
from lineup.run.tts import language_warnings, start_one_clip, start_tts_comparison
from lineup.store.database import Store
from lineup.store.media import MediaStore
from tests.builders import by_name, resolved, resolved_all

RATE_HZ = 16_000
STAND_IN = parse_spec("espeak:stand-in")  # the runner names voices by the spec it was given


class ToneVoice(TTSBackend):
    """One second of tone per clip; remembers the (text, preset, seed) it was asked for."""

    supports_seed = True

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(STAND_IN)
        self.calls: list[tuple[str, str | None, int | None]] = []
        self.delay_s = delay_s

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        self.calls.append((text, preset, seed))
        time.sleep(self.delay_s)
        tone = 0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, RATE_HZ, dtype=np.float32))
        return Audio(tone.astype(np.float32), RATE_HZ, {"seed": seed})

    def languages(self, preset: str | None = None) -> set[str] | None:
        return {"en"}


class BrokenVoice(TTSBackend):
    def __init__(self) -> None:
        super().__init__(STAND_IN)

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        raise BackendError("The engine crashed. Restart it.")


class HungVoice(TTSBackend):
    def __init__(self) -> None:
        super().__init__(STAND_IN)
        self.release = threading.Event()

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        self.release.wait(10)
        return Audio(np.zeros(RATE_HZ, dtype=np.float32), RATE_HZ)


class HungryVoice(TTSBackend):
    """An in-process engine that needs 64 MiB of working memory for a while."""

    in_process: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__(STAND_IN)

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        buffer = np.ones(64 * 1024 * 1024 // 8, dtype=np.float64)  # touched: resident
        time.sleep(0.05)
        del buffer
        return Audio(np.full(RATE_HZ // 2, 0.1, dtype=np.float32), RATE_HZ)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'lineup.db'}")


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


class Factory:
    def __init__(self, backends: dict[str, Any]) -> None:
        self.backends = backends
        self.asked: list[str] = []

    def __call__(self, spec: str) -> Any:
        self.asked.append(spec)
        backend = self.backends[spec.split("#")[0]]
        if isinstance(backend, Exception):
            raise backend
        return backend


class TranscriptOf(STTBackend):
    """An STT that 'hears' the text it is told the current clip says."""

    def __init__(self, transcript: str) -> None:
        super().__init__(STAND_IN)
        self.transcript = transcript

    listening_s = 0.02  # how long it takes to hear a clip

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        time.sleep(self.listening_s)
        return Transcript(self.transcript, "en")


def test_two_voices_two_samples_make_four_scored_rows_with_seeds(
    store: Store, media: MediaStore
) -> None:
    voice_a, voice_b = ToneVoice(), ToneVoice()
    factory = Factory(
        {
            "espeak:a": voice_a,
            "espeak:b": voice_b,
            "faster-whisper:x": TranscriptOf("the cat sat on a mat"),
        }
    )
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a#slow", "espeak:b"], "tts"),
        "The cat sat on the mat.",
        by_name(factory),
        samples=2,
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        seed=100,
    )
    results = comparison.wait()

    assert [(r.voice, r.sample, r.seed, r.status) for r in results] == [
        ("espeak:a#slow", 0, 100, "ok"),
        ("espeak:a#slow", 1, 101, "ok"),
        ("espeak:b", 0, 100, "ok"),
        ("espeak:b", 1, 101, "ok"),
    ]
    # The spec's preset and each sample's seed reach the engine.
    assert voice_a.calls == [
        ("The cat sat on the mat.", "slow", 100),
        ("The cat sat on the mat.", "slow", 101),
    ]
    assert [seed for _, _, seed in voice_b.calls] == [100, 101]

    run = store.get_run(comparison.run_id)
    assert run is not None and run.kind == "tts" and run.seed == 100
    assert run.input_text == "The cat sat on the mat."
    rows = sorted(run.generations, key=lambda g: g.id)
    assert [(g.model_spec, g.sample_index, g.seed, g.status) for g in rows] == [
        ("espeak:a#slow", 0, 100, "ok"),
        ("espeak:a#slow", 1, 101, "ok"),
        ("espeak:b", 0, 100, "ok"),
        ("espeak:b", 1, 101, "ok"),
    ]
    for row in rows:
        assert row.audio_s == 1.0
        assert row.sample_rate_hz == RATE_HZ
        assert row.rtf == pytest.approx(row.gen_s / row.audio_s)
        assert row.peak_mem_mb is None  # not an in-process engine
        assert row.transcript == "the cat sat on a mat"
        assert row.wer == pytest.approx(1 / 6)
        assert row.cer == pytest.approx(3 / 22)  # "the" -> "a": 1 substitution, 2 deletions
        assert row.stt_spec == "faster-whisper:x"
        # The transcription's own time: at least the stand-in's listening, well under a minute.
        assert row.stt_s is not None and TranscriptOf.listening_s <= row.stt_s < 60
        stored = from_wav_bytes(media.get(row.audio_hash))
        assert stored.sample_rate_hz == RATE_HZ and len(stored.samples) == RATE_HZ
    assert results[0].audio_path == str(media.path(rows[0].audio_hash))


def test_a_failing_voice_is_an_error_row_and_the_others_finish(
    store: Store, media: MediaStore
) -> None:
    factory = Factory(
        {
            "espeak:good": ToneVoice(),
            "espeak:broken": BrokenVoice(),
            "espeak:missing": BackendError("espeak-ng has no voice 'missing'."),
            "faster-whisper:x": TranscriptOf("hello"),
        }
    )
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:broken", "espeak:missing", "espeak:good"], "tts"),
        "Hello",
        by_name(factory),
        samples=2,
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        seed=7,
    )
    results = comparison.wait()
    by_voice = {(r.voice, r.sample): r for r in results}
    assert len(results) == 6
    assert by_voice["espeak:broken", 0].status == "error"
    assert by_voice["espeak:broken", 1].error == "The engine crashed. Restart it."
    assert by_voice["espeak:missing", 0].error == "espeak-ng has no voice 'missing'."
    assert [by_voice["espeak:good", s].status for s in (0, 1)] == ["ok", "ok"]
    assert by_voice["espeak:good", 0].wer == 0.0
    statuses = {g.model_spec: g.status for g in store.get_run(comparison.run_id).generations}
    assert statuses == {"espeak:broken": "error", "espeak:missing": "error", "espeak:good": "ok"}


def test_a_timed_out_clip_becomes_a_timeout_and_the_voice_later_clips_are_skipped(
    store: Store, media: MediaStore
) -> None:
    hung = HungVoice()
    factory = Factory({"espeak:hung": hung, "espeak:quick": ToneVoice()})
    started = time.perf_counter()
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:hung", "espeak:quick"], "tts"),
        "Hi",
        by_name(factory),
        samples=2,
        stt=None,
        timeout_s=0.3,
        seed=1,
    )
    kinds = [(e.kind, e.generation_id) for e in comparison.iter_events()]
    elapsed_s = time.perf_counter() - started
    hung.release.set()
    results = {(r.voice, r.sample): r for r in comparison.results()}
    assert elapsed_s < 5
    assert results["espeak:hung", 0].status == "timeout"
    assert results["espeak:hung", 0].error.startswith("Timed out after 0.3 s")
    assert results["espeak:hung", 1].error.startswith("Skipped: sample 1 of this voice timed out")
    assert results["espeak:quick", 0].status == "ok" and results["espeak:quick", 1].status == "ok"
    # Every clip ends with exactly one done/failed event.
    finals = [gid for kind, gid in kinds if kind in ("done", "failed")]
    assert sorted(finals) == sorted(c.generation_id for c in comparison.clips)


def test_events_announce_each_clip_then_its_audio_then_its_end(
    store: Store, media: MediaStore
) -> None:
    factory = Factory({"espeak:a": ToneVoice(), "faster-whisper:x": TranscriptOf("hi")})
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a"], "tts"),
        "Hi",
        by_name(factory),
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        seed=3,
    )
    events = list(comparison.iter_events())
    assert [e.kind for e in events] == ["started", "audio", "done"]
    assert events[1].audio_hash == events[2].result.audio_hash


def test_each_sentence_is_its_own_run_with_its_own_scores(store: Store, media: MediaStore) -> None:
    factory = Factory({"espeak:a": ToneVoice(), "faster-whisper:x": TranscriptOf("one two")})
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a"], "tts"),
        ["One two.", "One two three four.", "  "],
        by_name(factory),
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        seed=5,
    )
    results = comparison.wait()
    assert len(comparison.run_ids) == 2
    runs = [store.get_run(run_id) for run_id in comparison.run_ids]
    assert [run.input_text for run in runs] == ["One two.", "One two three four."]
    assert runs[0].params["batch_id"] == runs[1].params["batch_id"]
    assert [r.wer for r in results] == [0.0, 0.5]
    assert [r.run_id for r in results] == comparison.run_ids


def test_in_process_engines_report_peak_memory_growth(store: Store, media: MediaStore) -> None:
    factory = Factory({"piper:hungry": HungryVoice()})
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["piper:hungry"], "tts"),
        "Hi",
        by_name(factory),
        stt=None,
        seed=1,
    )
    [result] = comparison.wait()
    assert result.status == "ok"
    # 64 MiB were resident during synthesis; the sampler sees (nearly) all of it.
    assert 48 <= result.peak_mem_mb < 200
    assert result.audio_s == 0.5


def test_a_failed_transcription_keeps_the_audio_and_says_why(
    store: Store, media: MediaStore
) -> None:
    factory = Factory(
        {"espeak:a": ToneVoice(), "faster-whisper:x": BackendError("Whisper is not installed.")}
    )
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a"], "tts"),
        "Hi",
        by_name(factory),
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        seed=1,
    )
    [result] = comparison.wait()
    assert result.status == "error"
    assert result.error == "Transcription with faster-whisper:x failed: Whisper is not installed."
    assert result.audio_hash is not None and result.audio_s == 1.0


def test_bad_requests_are_refused_before_anything_runs(store: Store, media: MediaStore) -> None:
    factory = Factory({})
    with pytest.raises(ValueError, match="Type a sentence"):
        start_tts_comparison(
            store, media, resolved_all(["espeak:a"], "tts"), "   ", by_name(factory)
        )
    with pytest.raises(ValueError, match="at least 1"):
        start_tts_comparison(
            store, media, resolved_all(["espeak:a"], "tts"), "Hi", by_name(factory), samples=0
        )
    assert store.latest_runs("tts") == []


def test_language_warnings_name_the_voice_and_skip_voices_that_cannot_load() -> None:
    factory = Factory({"espeak:a": ToneVoice(), "espeak:gone": BackendError("gone")})
    warnings = language_warnings(
        ["Привет, мир.", "Hello.", "Как дела?"],
        resolved_all(["espeak:a", "espeak:gone"], "tts"),
        by_name(factory),
    )
    assert len(warnings) == 1
    assert "Cyrillic" in warnings[0] and "espeak:a speaks en" in warnings[0]


class EnglishOnlySTT(STTBackend):
    def __init__(self) -> None:
        super().__init__(STAND_IN)

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        return Transcript("", "en")

    def languages(self, preset: str | None = None) -> set[str] | None:
        return {"en"}


def test_an_english_only_stt_model_named_for_cyrillic_text_is_refused_in_the_warnings() -> None:
    factory = Factory({"espeak:ru": ToneVoice(), "faster-whisper:tiny.en": EnglishOnlySTT()})
    factory.backends["espeak:ru"].languages = lambda preset=None: {"ru"}
    warnings = language_warnings(
        ["Привет, мир."],
        resolved_all(["espeak:ru"], "tts"),
        by_name(factory),
        stt=STTChoice(named=resolved("faster-whisper:tiny.en", modality="stt")),
    )
    assert warnings == [
        "faster-whisper:tiny.en cannot hear 'ru' (it hears en), so its transcript of this "
        "sentence would be no measure of the voice: no WER is stored. Use `auto` (the default: "
        "faster-whisper:base for languages other than English) or a model that hears ru."
    ]


class HearsLanguages(STTBackend):
    """An STT that hears the given languages and writes down each clip's language it was told."""

    def __init__(self, heard: set[str], transcript: str) -> None:
        super().__init__(STAND_IN)
        self.heard = heard
        self.transcript = transcript
        self.told: list[str | None] = []

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        self.told.append(language)
        return Transcript(self.transcript, language)

    def languages(self, preset: str | None = None) -> set[str] | None:
        return self.heard


def test_auto_hears_english_with_the_english_model_and_russian_with_the_multilingual_one(
    store: Store, media: MediaStore
) -> None:
    english = HearsLanguages({"en"}, "the cat sat")
    multilingual = HearsLanguages({"en", "ru"}, "Кот сидел.")
    factory = Factory(
        {
            "espeak:a": ToneVoice(),
            "faster-whisper:en": english,
            "faster-whisper:multi": multilingual,
        }
    )
    choice = STTChoice(
        english=resolved("faster-whisper:en", modality="stt"),
        multilingual=resolved("faster-whisper:multi", modality="stt"),
    )
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a"], "tts"),
        ["The cat sat.", "Кот сидел."],
        by_name(factory),
        stt=choice,
    )
    results = {r.text: r for r in comparison.wait()}
    assert english.told == ["en"] and multilingual.told == ["ru"]  # passed, never guessed
    assert results["The cat sat."].stt_spec == "faster-whisper:en"
    assert results["Кот сидел."].stt_spec == "faster-whisper:multi"
    assert results["Кот сидел."].wer == 0.0 and results["The cat sat."].wer == 0.0
    rows = {
        g.transcript: g.stt_spec for r in comparison.run_ids for g in store.get_run(r).generations
    }
    assert rows == {"the cat sat": "faster-whisper:en", "Кот сидел.": "faster-whisper:multi"}
    assert store.get_run(comparison.run_ids[0]).params["stt"] == "auto"


def test_a_clip_in_a_language_its_named_stt_cannot_hear_keeps_its_audio_and_gets_no_wer(
    store: Store, media: MediaStore
) -> None:
    english_only = HearsLanguages({"en"}, "but if you want to know")
    factory = Factory({"espeak:a": ToneVoice(), "faster-whisper:tiny.en": english_only})
    run_id = store.create_run("tts", "Привет! Сегодня десять градусов тепла.")
    generation_id = store.add_generation(run_id, "espeak:a")
    comparison = start_one_clip(
        store,
        media,
        run_id,
        generation_id,
        resolved("espeak:a", modality="tts"),
        "Привет! Сегодня десять градусов тепла.",
        by_name(factory),
        sentence_index=0,
        sample=0,
        seed=1,
        stt=STTChoice(named=resolved("faster-whisper:tiny.en", modality="stt")),
        timeout_s=30,
        language="ru",
    )
    [result] = comparison.wait()
    assert english_only.told == []  # never asked to transcribe
    assert result.status == "error"
    assert "faster-whisper:tiny.en cannot hear 'ru'" in (result.error or "")
    [row] = store.get_run(run_id).generations
    assert row.audio_hash is not None and row.audio_s is not None and row.audio_s > 0
    assert row.transcript is None and row.wer is None and row.cer is None
    assert row.stt_spec is None


def test_a_key_the_voice_said_is_redacted_in_the_stored_transcript(
    store: Store, media: MediaStore
) -> None:
    key = "sk-voice-0123456789"
    factory = Factory(
        {"espeak:a": ToneVoice(), "faster-whisper:x": TranscriptOf(f"the key is {key}")}
    )
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["espeak:a"], "tts"),
        "Hi",
        by_name(factory),
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        secrets=[key],
    )
    [result] = comparison.wait()
    [row] = store.get_run(comparison.run_ids[0]).generations
    assert result.transcript == row.transcript == "the key is [redacted]"
    assert row.backend_metadata["redacted_secrets"] == 1


@pytest.mark.parametrize(
    ("language", "wer"),
    [
        # The set item says French: "il a dix ans" on both sides, 0 errors.
        ("fr", 0.0),
        # No language: Latin script is guessed English, "10" reads "ten" against the heard
        # "dix": 1 substitution / 4 words.
        (None, 0.25),
    ],
)
def test_a_study_clip_is_scored_in_its_set_items_language(
    store: Store, media: MediaStore, language: str | None, wer: float
) -> None:
    sentence = "Il a 10 ans."
    run_id = store.create_run("tts", sentence)
    generation_id = store.add_generation(run_id, "espeak:a")
    factory = Factory({"espeak:a": ToneVoice(), "faster-whisper:x": TranscriptOf("Il a dix ans")})
    comparison = start_one_clip(
        store,
        media,
        run_id,
        generation_id,
        resolved("espeak:a", modality="tts"),
        sentence,
        by_name(factory),
        sentence_index=0,
        sample=0,
        seed=1,
        stt=STTChoice(named=resolved("faster-whisper:x", modality="stt")),
        timeout_s=30,
        language=language,
    )
    [result] = comparison.wait()
    assert result.status == "ok"
    assert result.wer == pytest.approx(wer)
    assert result.reference_words == 4


class LoggedVoice(TTSBackend):
    """A stand-in that writes (its name, text, seed) into a shared log as it starts a clip."""

    def __init__(self, name: str, log: list[tuple[str, str, int | None]]) -> None:
        super().__init__(STAND_IN)
        self.name, self.log = name, log

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        self.log.append((self.name, text, seed))
        time.sleep(0.02)
        return Audio(np.full(RATE_HZ // 4, 0.1, dtype=np.float32), RATE_HZ)


def test_fair_voices_of_one_host_take_turns_in_an_order_that_rotates(
    store: Store, media: MediaStore
) -> None:
    log: list[tuple[str, str, int | None]] = []
    voices = {name: LoggedVoice(name, log) for name in ("a", "b", "c")}
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["a", "b", "c"], "tts"),  # in-process stand-ins: one host, this machine
        ["One.", "Two."],
        by_name(voices.__getitem__),
        samples=2,
        seed=10,
        timing="fair",
    )
    results = comparison.wait()
    # Hand-listed: rounds sentence by sentence, then sample; round (s, k) starts at
    # (s + k) mod 3.
    assert log == [
        *[("a", "One.", 10), ("b", "One.", 10), ("c", "One.", 10)],
        *[("b", "One.", 11), ("c", "One.", 11), ("a", "One.", 11)],
        *[("b", "Two.", 10), ("c", "Two.", 10), ("a", "Two.", 10)],
        *[("c", "Two.", 11), ("a", "Two.", 11), ("b", "Two.", 11)],
    ]
    assert {(r.status, r.concurrent_max, r.concurrent_endpoint_max) for r in results} == {
        ("ok", 0, 0)
    }
    assert {store.get_run(run_id).params["timing"] for run_id in comparison.run_ids} == {"fair"}


def test_parallel_voices_record_each_other_in_flight(store: Store, media: MediaStore) -> None:
    voices = {name: ToneVoice(delay_s=0.4) for name in ("a", "b")}
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(["a", "b"], "tts"),
        "Hello there.",
        by_name(voices.__getitem__),
    )
    results = comparison.wait()
    # Both synthesize at once (0.4 s each, started together), on one host and one endpoint
    # (the stand-ins' `in-process:fake`).
    assert [(r.status, r.concurrent_max, r.concurrent_endpoint_max) for r in results] == [
        ("ok", 1, 1),
        ("ok", 1, 1),
    ]

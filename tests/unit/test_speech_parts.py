"""Small parts of the speech backends: preset strings, WAV decoding, language warnings."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from backends.base import Audio, BackendError, BackendUnavailable, TTSBackend
from backends.piper_tts import PRESET_BOUNDS, PRESET_EXAMPLE, PRESETS
from backends.presets import parse_preset
from backends.spec import parse_spec
from backends.wav import from_wav_bytes, to_wav_bytes
from lineup.measure.language import dominant_script, guess_language, language_warning


def piper_preset(text: str | None) -> dict[str, float]:
    return parse_preset(text, PRESETS, PRESET_BOUNDS, engine="Piper", example=PRESET_EXAMPLE)


def test_piper_named_presets_and_parameter_strings() -> None:
    assert piper_preset(None) == {}
    assert piper_preset("default") == {}
    assert piper_preset("slow") == {"length_scale": 1.25}
    assert piper_preset("length_scale=1.2, noise_scale=0.5") == {
        "length_scale": 1.2,
        "noise_scale": 0.5,
    }


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ("loud", "no preset 'loud'"),
        ("length_scale=fast", "is not a number"),
        ("length_scale=1.2,pitch=3", "unknown parameter 'pitch'"),
        ("length_scale=1.2,length_scale=1.3", "given twice"),
        ("length_scale=0", "outside 0.1..5"),
        ("noise_scale=nan", "outside"),
        ("length_scale=1.2,", "is not `key=value`"),
    ],
)
def test_piper_preset_strings_are_parsed_strictly(preset: str, message: str) -> None:
    with pytest.raises(BackendError, match=message):
        piper_preset(preset)


def test_wav_round_trip_keeps_rate_and_samples() -> None:
    samples = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.5
    audio = from_wav_bytes(to_wav_bytes(Audio(samples, 16_000)))
    assert audio.sample_rate_hz == 16_000
    assert audio.audio_s == 0.5
    assert np.max(np.abs(audio.samples - samples)) < 1e-4


def test_streamed_wav_with_placeholder_sizes_is_read_to_its_end() -> None:
    # What espeak-ng --stdout writes: RIFF and data sizes it cannot know yet.
    pcm = (np.arange(100, dtype="<i2") * 100).tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        0x7FFFF024,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        22050,
        44100,
        2,
        16,
        b"data",
        0x7FFFF000,
    )
    audio = from_wav_bytes(header + pcm)
    assert audio.sample_rate_hz == 22050
    assert len(audio.samples) == 100
    assert audio.samples[1] == pytest.approx(100 / 32768)


def test_non_wav_bytes_are_an_error_that_says_so() -> None:
    with pytest.raises(BackendError, match="did not return WAV audio"):
        from_wav_bytes(b"ID3\x04mp3 bytes here", source="The server")


class _Voice(TTSBackend):
    def __init__(self, languages: set[str] | None) -> None:
        super().__init__(parse_spec("piper:en_US-joe-medium"))
        self._languages = languages

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        raise AssertionError("a language check never speaks")

    def languages(self, preset: str | None = None) -> set[str] | None:
        return self._languages


def test_scripts_and_language_guesses() -> None:
    assert dominant_script("Привет, мир! OK") == "Cyrillic"
    assert dominant_script("Hello, мир") == "Latin"
    assert dominant_script("123 !?") is None
    assert guess_language("Добрый день") == "ru"
    assert guess_language("Good day") == "en"


def test_cyrillic_text_to_an_english_voice_gets_a_warning() -> None:
    warning = language_warning("Привет, как дела?", _Voice({"en"}))
    assert warning is not None
    assert "Cyrillic" in warning and "piper:en_US-joe-medium speaks en" in warning
    assert "espeak:ru" in warning


def test_no_warning_when_the_voice_speaks_the_script_or_is_unknown() -> None:
    assert language_warning("Hello there", _Voice({"en"})) is None
    assert language_warning("Привет", _Voice({"ru"})) is None
    assert language_warning("Привет", _Voice(None)) is None
    assert language_warning("Hello", _Voice({"ru"})) is not None


def test_whisper_and_bark_resolve_folders_and_hub_ids_like_the_vlm_backend(
    tmp_path: Path,
) -> None:
    from backends.bark import BarkBackend, BarkOptions
    from backends.whisper_stt import resolve_model

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(BackendUnavailable, match="has no model.bin, so it is not a Whisper"):
        resolve_model(str(tmp_path))
    with pytest.raises(BackendUnavailable, match="No Whisper .* model folder at .*not on disk"):
        resolve_model("./no-such-folder")
    # Tests run with HF_HUB_OFFLINE=1: a size name that is not cached cannot be had.
    with pytest.raises(BackendUnavailable, match="Systran/faster-whisper-large-v3"):
        resolve_model("large-v3")
    with pytest.raises(BackendUnavailable, match="set the option allow_download=true"):
        BarkBackend(parse_spec("bark:lineup-tests/no-bark"), BarkOptions(allow_download=False))
    with pytest.raises(BackendUnavailable, match="no-bark is not on disk and the hub is unreach"):
        BarkBackend(parse_spec("bark:lineup-tests/no-bark"))

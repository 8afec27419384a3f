"""The engine the pages and the CLI share: settings, store, media, backends.toml, comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.base import VLMRequest
from backends.registry import create_backend, kind_info
from backends.spec import SpecError
from lineup.config import BackendsConfig, load_backends_config, resolve_model
from lineup.media import ValidatedImage, validate_image
from lineup.mediastore import MediaStore
from lineup.runner import Comparison, start_vlm_comparison
from lineup.settings import Settings, load_settings
from lineup.store import Store
from lineup.tts_runner import DEFAULT_STT, TTSComparison, start_tts_comparison


@dataclass
class Lineup:
    settings: Settings
    store: Store
    media: MediaStore
    config: BackendsConfig

    def refresh_config(self) -> None:
        """Re-read backends.toml if it changed since it was read (the app reads it per page)."""
        fresh = load_backends_config(self.settings)
        if fresh != self.config:
            self.config = fresh

    @classmethod
    def open(cls, settings: Settings | None = None) -> Lineup:
        settings = settings or load_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=Store(settings.database_url),
            media=MediaStore(settings.media_dir),
            config=load_backends_config(settings),
        )

    def check_models(self, models: list[str], modality: str = "vlm") -> list[str]:
        """Check every spec or name before anything runs; raise SpecError naming the bad one."""
        if not models:
            raise SpecError("Choose at least one model.")
        for model in models:
            spec, _ = resolve_model(model, self.config)
            if kind_info(spec.kind).modality != modality:
                raise SpecError(f"{model!r} is not a {modality.upper()} backend.")
        return models

    def make_backend(self, model: str, **kwargs: Any) -> Any:
        spec, options = resolve_model(model, self.config)
        return create_backend(spec, options, **kwargs)

    def validate_image(self, data: bytes) -> ValidatedImage:
        return validate_image(
            data, max_bytes=self.settings.max_upload_bytes, max_pixels=self.settings.max_pixels
        )

    def start_vlm(
        self,
        *,
        question: str,
        models: list[str],
        image: ValidatedImage | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        timeout_s: float | None = None,
        blind: bool = False,
    ) -> Comparison:
        """Store the image and the run, then start every model at once."""
        if not question.strip():
            raise ValueError("Ask a question about the image.")
        self.check_models(models)
        image_hash = self.media.put(image.data, image.suffix) if image is not None else None
        request = VLMRequest(
            question=question.strip(),
            image=image,
            system=(system or "").strip() or None,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        factory: Any = self.make_backend
        return start_vlm_comparison(
            self.store,
            models,
            request,
            factory,
            image_hash=image_hash,
            timeout_s=timeout_s or self.settings.model_timeout_s,
            blind=blind,
        )

    def start_tts(
        self,
        *,
        texts: str | list[str],
        voices: list[str],
        samples: int = 1,
        stt: str | None = DEFAULT_STT,
        seed: int | None = None,
        timeout_s: float | None = None,
    ) -> TTSComparison:
        """Check the voices and the STT spec, store one run per sentence, start every voice.

        Voices may be specs or names from backends.toml; a voice's #PRESET is passed to
        its synthesize(). See lineup.tts_runner for what each clip records.
        """
        self.check_models(voices, "tts")
        if stt is not None:
            self.check_models([stt], "stt")
        factory: Any = self.make_backend
        return start_tts_comparison(
            self.store,
            self.media,
            voices,
            texts,
            factory,
            samples=samples,
            stt=stt,
            timeout_s=timeout_s or self.settings.model_timeout_s,
            seed=seed,
            spec_of=lambda voice: resolve_model(voice, self.config)[0],
        )

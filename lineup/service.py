"""The engine the pages and the CLI share: settings, store, media, backends.toml, comparisons."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from backends.base import VLMRequest
from backends.registry import create_backend, kind_info
from backends.spec import SpecError
from lineup import liveness
from lineup.config import BackendsConfig, load_backends_config, resolve_model
from lineup.engines import DescribeCache
from lineup.limits import (
    InputError,
    check_question,
    check_seed,
    check_sentence,
    check_system_prompt,
    check_timeout_s,
)
from lineup.media import ValidatedImage, validate_image
from lineup.mediastore import MediaStore
from lineup.models import MODEL_SPEC_MAX_CHARS
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
    described: DescribeCache = field(default_factory=DescribeCache)

    def refresh_config(self) -> None:
        """Re-read backends.toml if it changed since it was read (the app reads it per page)."""
        fresh = load_backends_config(self.settings)
        if fresh != self.config:
            self.config = fresh

    @classmethod
    def open(cls, settings: Settings | None = None) -> Lineup:
        """Open the store (migrating it) and mark rows whose process died `interrupted`."""
        settings = settings or load_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        app = cls(
            settings=settings,
            store=Store(settings.database_url),
            media=MediaStore(settings.media_dir),
            config=load_backends_config(settings),
        )
        app.reap_orphans()
        return app

    def reap_orphans(self) -> list[int]:
        """Running rows whose owner process is gone become `interrupted` (the app calls this
        on every page run, the CLI at start); returns their ids."""
        return self.store.reap_orphans()

    def secrets(self) -> list[str]:
        """The values of every configured API key, to keep out of what is stored and printed."""
        names = {"OPENAI_API_KEY"} | {e.api_key_env for e in self.config.endpoints if e.api_key_env}
        for named in self.config.models:
            key_env = (named.options or {}).get("api_key_env")
            if isinstance(key_env, str):
                names.add(key_env)
        return [value for name in names if (value := os.environ.get(name))]

    def timeout(self, timeout_s: float | None) -> float:
        """The per-model timeout: the one given, else the setting; a positive finite number."""
        if timeout_s is None:
            return self.settings.model_timeout_s
        return float(check_timeout_s(timeout_s))

    def active_comparison(self, run_id: int) -> Any | None:
        """The comparison in progress in this process that holds run `run_id`, if any."""
        return liveness.active_run(run_id)

    def cancel_run(self, run_id: int) -> bool:
        """Stop the run in progress that holds `run_id`; False when none runs here."""
        comparison = liveness.active_run(run_id)
        if comparison is None:
            return False
        comparison.cancel()
        return True

    def check_models(self, models: list[str], modality: str = "vlm") -> list[str]:
        """Check every spec or name before anything runs; raise SpecError naming the bad one."""
        if not models:
            raise SpecError("Choose at least one model.")
        for model in models:
            if len(model) > MODEL_SPEC_MAX_CHARS:
                raise SpecError(
                    f"A model spec is {len(model)} characters long; the limit is "
                    f"{MODEL_SPEC_MAX_CHARS}. Give the model a short name in backends.toml."
                )
            spec, _ = resolve_model(model, self.config)
            if kind_info(spec.kind).modality != modality:
                raise SpecError(f"{model!r} is not a {modality.upper()} backend.")
        return models

    def make_backend(self, model: str, **kwargs: Any) -> Any:
        spec, options = resolve_model(model, self.config)
        return create_backend(spec, options, **kwargs)

    def read_image_file(self, path: Any) -> ValidatedImage:
        """An image file, its size checked from the file before it is read, then validated."""
        from lineup.media import read_image_file

        return self.validate_image(read_image_file(path, max_bytes=self.settings.max_upload_bytes))

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
        question = check_question(question)
        system = check_system_prompt(system)
        timeout = self.timeout(timeout_s)
        self.check_models(models)
        image_hash = self.media.put(image.data, image.suffix) if image is not None else None
        request = VLMRequest(
            question=question,
            image=image,
            system=system,
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
            timeout_s=timeout,
            blind=blind,
            secrets=self.secrets(),
            describe=self.described,
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
        timeout = self.timeout(timeout_s)
        sentences = [texts] if isinstance(texts, str) else list(texts)
        texts = [check_sentence(text) for text in sentences if text.strip()]
        if not texts:
            raise InputError("Type a sentence for the voices to speak.")
        if samples < 1:
            raise InputError(f"The number of samples must be at least 1, not {samples}.")
        if seed is not None:
            check_seed(seed, samples=samples)
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
            timeout_s=timeout,
            seed=seed,
            spec_of=lambda voice: resolve_model(voice, self.config)[0],
            secrets=self.secrets(),
        )

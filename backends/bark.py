"""Bark and Bark-small in process with transformers' BarkModel, from a hub id or a local folder;
voice presets (`bark:suno/bark-small#v2/en_speaker_6`) or none."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from backends import compute, hub
from backends.base import N_, Audio, BackendError, BackendUnavailable, Options, TTSBackend
from backends.probe import torch_model_card
from backends.spec import ModelSpec

NO_PRESET = "none"
DEFAULT_SAMPLE_RATE_HZ = 24_000  # Bark's EnCodec codec
_PRESET_LANGUAGE = re.compile(r"^(?:v2/)?([a-z]{2})_speaker_\d+$")


class BarkOptions(Options):
    temperature: float = Field(default=0.55, gt=0.0, le=2.0)
    seed: int | None = None  # used when the runner gives no per-sample seed
    # Caps the semantic stage (about 50 tokens per second of speech); None = Bark's own limit.
    semantic_max_new_tokens: int | None = Field(default=None, ge=1)
    device: str = "cpu"
    # A hub id that is not on disk is downloaded only when this is true.
    allow_download: bool = True


def _torch_and_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable.of(
            N_("Bark needs `pip install torch transformers` (both are in requirements.txt).")
        ) from exc
    return torch, transformers


def _prepare_generation_config(model: Any, options: BarkOptions) -> None:
    """Put the sampling settings into the three sub-configs, as plain dicts.

    BarkModel.generate() unpacks its sub-configs with `**`, so they must be dicts (a
    BarkGenerationConfig, what from_pretrained may build, wraps them in objects). The
    temperature and the semantic token cap go in there too, so generate() gets only the
    inputs: passing sampling arguments beside a generation config is deprecated.
    """
    config = model.generation_config
    for name in ("semantic_config", "coarse_acoustics_config", "fine_acoustics_config"):
        value = getattr(config, name, None) or {}
        value = dict(value) if isinstance(value, dict) else value.to_dict()
        value.update(do_sample=True, temperature=options.temperature)
        if name == "semantic_config" and options.semantic_max_new_tokens is not None:
            value["max_new_tokens"] = options.semantic_max_new_tokens
        setattr(config, name, value)


class BarkBackend(TTSBackend):
    in_process: ClassVar[bool] = True
    supports_seed: ClassVar[bool] = True
    Options = BarkOptions

    def __init__(self, spec: ModelSpec, options: BarkOptions | None = None) -> None:
        self.spec = spec
        self.options = options or BarkOptions()
        self.torch, transformers = _torch_and_transformers()
        found = hub.resolve(
            spec.model,
            engine="Bark",
            folder_hint=N_(
                "Give the folder a Bark model was saved to with save_pretrained() or "
                "downloaded to with `hf download suno/bark-small --local-dir FOLDER`."
            ),
            allow_download=self.options.allow_download,
            download_switch="allow_download=true",
        )
        self.downloaded = found.downloads
        try:
            model = transformers.BarkModel.from_pretrained(
                found.name_or_path, local_files_only=found.local_only
            )
            self.processor = transformers.AutoProcessor.from_pretrained(
                found.name_or_path, local_files_only=found.local_only
            )
        except OSError as exc:
            raise hub.load_failed(exc, found, spec.model) from exc
        self.model = model.to(self.options.device)
        _prepare_generation_config(self.model, self.options)
        self.model.eval()

    def describe(self) -> dict[str, Any]:
        """The loaded model's dtype, device and parameter count, with the versions."""
        return torch_model_card("bark", "transformers", self.model)

    @property
    def sample_rate_hz(self) -> int:
        rate = getattr(self.model.generation_config, "sample_rate", None)
        if rate is None:
            rate = getattr(self.model.config.codec_config, "sampling_rate", None)
        return int(rate or DEFAULT_SAMPLE_RATE_HZ)

    def voice_presets(self) -> list[str]:
        """The voice presets this model's processor knows (`v2/en_speaker_6`, ...)."""
        return sorted(self.processor.available_voice_presets)

    def _check_preset(self, preset: str | None) -> str | None:
        if preset is None or preset.strip() in ("", NO_PRESET):
            return None
        preset = preset.strip()
        known = self.voice_presets()
        if preset not in known:
            listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
            if not known:
                raise BackendError.of(
                    N_(
                        "{model} has no voice preset {preset}. It ships no voice presets; use "
                        "`#{none}` (or no #) for none."
                    ),
                    model=self.spec.model,
                    preset=repr(preset),
                    none=NO_PRESET,
                )
            raise BackendError.of(
                N_(
                    "{model} has no voice preset {preset}. Its presets: {presets}; use "
                    "`#{none}` (or no #) for none."
                ),
                model=self.spec.model,
                preset=repr(preset),
                presets=listed,
                none=NO_PRESET,
            )
        return preset

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        voice_preset = self._check_preset(preset)
        seed = seed if seed is not None else self.options.seed
        torch = self.torch
        inputs = self.processor(text, voice_preset=voice_preset, return_tensors="pt")
        kwargs: dict[str, Any] = {
            "input_ids": inputs["input_ids"].to(self.options.device),
            "attention_mask": inputs["attention_mask"].to(self.options.device),
        }
        if voice_preset is not None:
            kwargs["history_prompt"] = {
                key: value.to(self.options.device)
                for key, value in inputs["history_prompt"].items()
            }
        with compute.seeded(seed), torch.inference_mode():
            try:
                waveform = self.model.generate(**kwargs)
            except Exception as exc:  # noqa: BLE001 - torch raises many types
                raise BackendError.of(
                    N_("Bark failed to generate: {kind}: {reason}"),
                    kind=type(exc).__name__,
                    reason=str(exc),
                ) from exc
        samples = waveform[0].detach().to("cpu").float().numpy().reshape(-1).astype(np.float32)
        return Audio(
            samples,
            self.sample_rate_hz,
            metadata={
                "model": self.spec.model,
                "voice_preset": voice_preset,
                "temperature": self.options.temperature,
                "seed": seed,
                "downloaded": self.downloaded,
            },
        )

    def languages(self, preset: str | None = None) -> set[str] | None:
        """The preset's language (`v2/ru_speaker_3` -> {"ru"}); unknown without a preset."""
        match = _PRESET_LANGUAGE.match((preset or "").strip())
        return {match.group(1)} if match else None

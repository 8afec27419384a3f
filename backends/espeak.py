"""espeak-ng voices and variants (`espeak:en-us`, `espeak:en-us+f3`, `espeak:ru`), run as a
subprocess that writes WAV to stdout."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, ClassVar

from backends.base import (
    N_,
    Audio,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    DiscoveredModel,
    Options,
    TTSBackend,
)
from backends.presets import parse_preset
from backends.probe import engine_card
from backends.spec import ModelSpec
from backends.wav import from_wav_bytes

BINARY = "espeak-ng"
DEBIAN_PACKAGE = "espeak-ng"
PRESETS: dict[str, dict[str, float]] = {
    "default": {},
    "slow": {"speed": 130},
    "fast": {"speed": 220},
}
PRESET_BOUNDS = {"speed": (80.0, 450.0), "pitch": (0.0, 99.0)}
PRESET_EXAMPLE = "speed=150,pitch=60"
# Variants offered with en-us and ru by discover_local(); every installed variant works in a
# spec (`espeak:ru+f3`).
DISCOVERED_VARIANTS = ("f3", "m3", "klatt4")
VARIANT_LANGUAGES = {"en-us": "English (America)", "ru": "Russian"}


class EspeakOptions(Options):
    speed: int = 175  # words per minute, espeak-ng's default
    pitch: int = 50  # 0..99
    timeout_s: float = 30.0


@dataclass(frozen=True)
class EspeakVoice:
    language: str  # espeak-ng's voice name, e.g. en-us
    name: str
    gender: str
    file: str


def _binary() -> str:
    path = shutil.which(BINARY)
    if path is None:
        raise BackendUnavailable.of(
            N_(
                "{binary} is not installed. Install the Debian package {package} "
                "(`apt-get install {package}`; `make run` does it as root)."
            ),
            binary=BINARY,
            package=DEBIAN_PACKAGE,
        )
    return path


def _list(selector: str | None) -> list[EspeakVoice]:
    args = [_binary(), "--voices" if selector is None else f"--voices={selector}"]
    listing = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    voices = []
    # Columns: Pty Language Age/Gender VoiceName File Other Languages
    for line in listing.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            voices.append(EspeakVoice(parts[1], parts[3], parts[2].split("/")[-1], parts[4]))
    return voices


@functools.cache
def installed_voices() -> tuple[EspeakVoice, ...]:
    """Every espeak-ng language voice (MBROLA voices left out: they need extra packages)."""
    return tuple(v for v in _list(None) if not v.file.startswith("mb/"))


@functools.cache
def installed_variants() -> tuple[str, ...]:
    """Variant ids usable after `+` (from the file names `!v/f3` -> `f3`)."""
    return tuple(v.file.split("/", 1)[1] for v in _list("variant") if v.file.startswith("!v/"))


def _split(model: str) -> tuple[str, str | None]:
    language, _, variant = model.strip().partition("+")
    return language, (variant or None)


class EspeakBackend(TTSBackend):
    Options = EspeakOptions
    presets: ClassVar[tuple[str, ...]] = tuple(PRESETS)

    def __init__(self, spec: ModelSpec, options: EspeakOptions | None = None) -> None:
        self.spec = spec
        self.options = options or EspeakOptions()
        self.binary = _binary()
        self.language, self.variant = _split(spec.model)
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.language):
            raise BackendError.of(
                N_("{model} is not an espeak-ng voice; write e.g. `espeak:en-us`."),
                model=repr(spec.model),
            )
        known = {v.language for v in installed_voices()}
        if self.language not in known:
            raise BackendUnavailable.of(
                N_(
                    "espeak-ng has no voice {voice}. See `espeak-ng --voices` for the "
                    "installed ones (for example en-us, en-gb, ru)."
                ),
                voice=repr(self.language),
            )
        if self.variant is not None and self.variant not in installed_variants():
            # espeak-ng itself silently ignores an unknown variant; say so instead.
            raise BackendUnavailable.of(
                N_(
                    "espeak-ng has no variant {variant}. See `espeak-ng --voices=variant` "
                    "(for example f3, m3, klatt4)."
                ),
                variant=repr(self.variant),
            )

    def describe(self) -> dict[str, Any]:
        """espeak-ng's version (its own `--version` line) and the voice."""
        try:
            done = subprocess.run(
                [self.binary, "--version"], capture_output=True, text=True, timeout=2.0
            )
            version: str | None = done.stdout.split("  Data at")[0].strip() or None
        except (OSError, subprocess.SubprocessError):
            version = None
        return engine_card(
            "espeak", None, engine_version=version, voice=self.language, variant=self.variant
        )

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        """Speak `text`; espeak-ng is deterministic, so `seed` changes nothing."""
        values = {"speed": float(self.options.speed), "pitch": float(self.options.pitch)}
        values.update(
            parse_preset(preset, PRESETS, PRESET_BOUNDS, engine="espeak-ng", example=PRESET_EXAMPLE)
        )
        args = [
            self.binary,
            "-v",
            self.spec.model.strip(),
            "-s",
            str(round(values["speed"])),
            "-p",
            str(round(values["pitch"])),
            "-b",
            "1",  # the text on stdin is UTF-8
            "--stdin",
            "--stdout",
        ]
        try:
            done = subprocess.run(
                args,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self.options.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendTimeout.of(
                N_("espeak-ng took longer than {seconds} s (option timeout_s)."),
                seconds=f"{self.options.timeout_s:g}",
            ) from exc
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode("utf-8", errors="replace").strip()
            if not message:
                raise BackendError.of(
                    N_("espeak-ng failed (exit {code}): no audio"), code=done.returncode
                )
            raise BackendError.of(
                N_("espeak-ng failed (exit {code}): {message}"),
                code=done.returncode,
                message=message,
            )
        audio = from_wav_bytes(done.stdout, source="espeak-ng")
        audio.metadata.update(
            {"voice": self.spec.model.strip(), "preset": preset or "default", **values}
        )
        return audio

    def languages(self, preset: str | None = None) -> set[str] | None:
        """The language of the voice: `en-us` -> {"en"}, `ru` -> {"ru"}."""
        return {self.language.split("-")[0].lower()}

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        try:
            voices = installed_voices()
            variants = set(installed_variants())
        except BackendUnavailable:
            return []
        found = [
            DiscoveredModel(
                f"espeak:{v.language}",
                v.name.replace("_", " "),
                vision=False,
                details={"gender": v.gender, "languages": [v.language.split("-")[0]]},
            )
            for v in voices
        ]
        installed = {v.language for v in voices}
        found += [
            DiscoveredModel(
                f"espeak:{language}+{variant}",
                f"{name}, variant {variant}",
                vision=False,
                details={"variant": variant, "languages": [language.split("-")[0]]},
            )
            for language, name in VARIANT_LANGUAGES.items()
            if language in installed
            for variant in DISCOVERED_VARIANTS
            if variant in variants
        ]
        return found

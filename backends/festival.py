"""Festival voices (`festival:msu_ru_nsh_clunits`, the Russian voice of Debian's festvox-ru), run
as a `text2wave` subprocess that writes a WAV file."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

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
from backends.spec import ModelSpec
from backends.wav import from_wav_bytes

BINARY = "text2wave"
DEBIAN_PACKAGE = "festival"
VOICES_DIR = Path("/usr/share/festival/voices")
# No presets but the voice's own: Festival's Duration_Stretch does not change the pace of a
# unit-selection (clunits) voice such as the Russian one (checked: the same audio either way).
PRESETS = ("default",)
# Festival's voice names say their language in their second part (msu_ru_nsh_clunits,
# cmu_us_slt_arctic_hts); its old English diphone voices do not.
NAME_LANGUAGES = {"ru": "ru", "us": "en", "uk": "en", "en": "en", "es": "es"}
ENGLISH_DIPHONE_VOICES = {"kal_diphone", "ked_diphone", "rab_diphone", "don_diphone"}


class FestivalOptions(Options):
    timeout_s: float = 60.0


def _binary() -> str:
    path = shutil.which(BINARY)
    if path is None:
        raise BackendUnavailable.of(
            N_(
                "Festival is not installed. Install the Debian packages {package} and a "
                "voice (festvox-ru for Russian) with `apt-get install festival festvox-ru`."
            ),
            package=DEBIAN_PACKAGE,
        )
    return path


@functools.cache
def installed_voices(voices_dir: Path = VOICES_DIR) -> tuple[str, ...]:
    """Every voice folder under /usr/share/festival/voices/<language>/."""
    if not voices_dir.is_dir():
        return ()
    return tuple(
        sorted(
            v.name
            for group in voices_dir.iterdir()
            if group.is_dir()
            for v in group.iterdir()
            if v.is_dir()
        )
    )


def voice_language(voice: str) -> str | None:
    """The ISO 639-1 code of a Festival voice, from its name; None when the name does not say."""
    if voice in ENGLISH_DIPHONE_VOICES:
        return "en"
    parts = voice.split("_")
    return NAME_LANGUAGES.get(parts[1]) if len(parts) > 2 else None


class FestivalBackend(TTSBackend):
    Options = FestivalOptions
    presets: ClassVar[tuple[str, ...]] = PRESETS

    def __init__(self, spec: ModelSpec, options: FestivalOptions | None = None) -> None:
        self.spec = spec
        self.options = options or FestivalOptions()
        self.binary = _binary()
        self.voice = spec.model.strip()
        # The name goes into a Scheme expression: letters, digits and underscores only.
        if not re.fullmatch(r"[A-Za-z0-9_]+", self.voice):
            raise BackendError.of(
                N_("{model} is not a Festival voice; write e.g. `festival:msu_ru_nsh_clunits`."),
                model=repr(spec.model),
            )
        if self.voice not in installed_voices():
            if not installed_voices():
                raise BackendUnavailable.of(
                    N_(
                        "Festival has no voice {voice}. Installed: none (festvox-ru adds "
                        "msu_ru_nsh_clunits)."
                    ),
                    voice=repr(self.voice),
                )
            raise BackendUnavailable.of(
                N_(
                    "Festival has no voice {voice}. Installed: {voices} (festvox-ru adds "
                    "msu_ru_nsh_clunits)."
                ),
                voice=repr(self.voice),
                voices=", ".join(installed_voices()),
            )

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        """Speak `text`; Festival is deterministic, so `seed` changes nothing. A text the voice
        cannot read (festvox-ru has no letter-to-sound rule for `%`) is an error, not silence."""
        if (preset or "default").strip() not in PRESETS:
            raise BackendError.of(
                N_("Festival voices have no preset {preset}; leave it out."), preset=repr(preset)
            )
        with tempfile.TemporaryDirectory(prefix="lineup-festival-") as folder:
            source, wav = Path(folder) / "text.txt", Path(folder) / "speech.wav"
            source.write_text(text, encoding="utf-8")
            args = [
                self.binary,
                "-eval",
                f"(voice_{self.voice})",
                str(source),
                "-o",
                str(wav),
            ]
            try:
                done = subprocess.run(
                    args, capture_output=True, timeout=self.options.timeout_s, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise BackendTimeout.of(
                    N_("Festival took longer than {seconds} s (option timeout_s)."),
                    seconds=f"{self.options.timeout_s:g}",
                ) from exc
            data = wav.read_bytes() if wav.is_file() else b""
        if done.returncode != 0 or not data:
            said = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
            if not said:
                raise BackendError.of(
                    N_(
                        "Festival ({voice}) made no audio for this text (exit {code}): no audio. "
                        "Its voice may have no rule for a character in it (festvox-ru cannot "
                        "read `%`: write the word)."
                    ),
                    voice=self.voice,
                    code=done.returncode,
                )
            raise BackendError.of(
                N_(
                    "Festival ({voice}) made no audio for this text (exit {code}): {why}. Its "
                    "voice may have no rule for a character in it (festvox-ru cannot read `%`: "
                    "write the word)."
                ),
                voice=self.voice,
                code=done.returncode,
                why=said[-1],
            )
        audio = from_wav_bytes(data, source="Festival")
        audio.metadata.update({"voice": self.voice, "preset": "default"})
        return audio

    def languages(self, preset: str | None = None) -> set[str] | None:
        language = voice_language(self.voice)
        return {language} if language else None

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        if shutil.which(BINARY) is None:
            return []
        return [
            DiscoveredModel(
                f"festival:{voice}",
                f"Festival {voice}",
                vision=False,
                details={"languages": [voice_language(voice)] if voice_language(voice) else []},
            )
            for voice in installed_voices()
        ]

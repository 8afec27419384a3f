"""Shared fixtures: an isolated LINEUP_HOME and store per test, and small images."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from lineup.scoring import normalize
from lineup.settings import load_settings
from lineup.store import Store

# Tests never talk to a model hub: everything they load is built locally or ships in a package.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture()
def lineup_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LINEUP_HOME with its own SQLite store; no backends.toml, no Ollama."""
    home = tmp_path / "home"
    monkeypatch.setenv("LINEUP_HOME", str(home))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINEUP_BACKENDS_FILE", str(home / "backends.toml"))
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens there
    return home


@pytest.fixture()
def store(lineup_home: Path) -> Store:
    return Store(load_settings().database_url)


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "navy", text: str = "") -> bytes:
    image = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(image).text((4, 4), text, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def small_png() -> bytes:
    return png_bytes()


def word_counts(sentence: str, wer: float | None) -> dict[str, int | None]:
    """The counts a WER is the ratio of: the sentence's normalised words, WER times those."""
    if wer is None:
        return {"word_errors": None, "reference_words": None}
    words = len(normalize(sentence).split())
    return {"word_errors": round(wer * words), "reference_words": words}

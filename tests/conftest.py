"""Shared fixtures: an isolated LINEUP_HOME with its store, media store and facade per test, and
a small image; and the markers each test folder gives its tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.store.database import Store
from lineup.store.media import MediaStore
from tests.builders import png_bytes

# Tests never talk to a model hub: everything they load is built locally or ships in a package.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# Every test in these folders carries the folder's marker (pyproject.toml describes them), so
# `-m "not integration and not browser and not faults"` leaves them out (make test-fast).
MARKED_FOLDERS = ("integration", "browser", "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name
        if folder in MARKED_FOLDERS:
            item.add_marker(folder)


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


@pytest.fixture()
def app(lineup_home: Path) -> Lineup:
    """The facade over lineup_home (a module that needs more in it has an `app` of its own)."""
    return Lineup.open(load_settings())


@pytest.fixture()
def media(lineup_home: Path) -> MediaStore:
    return MediaStore(load_settings().media_dir)


@pytest.fixture()
def small_png() -> bytes:
    return png_bytes()

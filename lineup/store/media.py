"""Media stored once, content-addressed by SHA-256, under $LINEUP_HOME/media/."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from lineup.core import cannot_write


class MediaStoreError(Exception):
    """Media cannot be written (a full disk, a read-only or forbidden folder); the message says
    what to do. Nothing of the failed write is left behind."""


def media_digest(data: bytes) -> str:
    """The name media is stored under: the SHA-256 hex digest of its bytes."""
    return hashlib.sha256(data).hexdigest()


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, suffix: str) -> str:
        """Store `data` (if not there yet) and return its SHA-256 hex digest."""
        [digest], _ = self.put_all([(data, suffix)])
        return digest

    def put_all(self, blobs: Sequence[tuple[bytes, str]]) -> tuple[list[str], list[Path]]:
        """Store every (data, suffix) not stored yet, all or none: each new one is written to
        a temporary file first, and they are renamed into place only once all are written, so
        a full disk leaves no file of them, whole or part (MediaStoreError says what to do).

        Returns each blob's digest, in order, and the files this call added: what names them
        may still fail to be stored, and then `discard` removes them.
        """
        digests: list[str] = []
        staged: dict[Path, Path] = {}  # final path -> its temporary file
        added: list[Path] = []
        try:
            for data, suffix in blobs:
                digest = media_digest(data)
                digests.append(digest)
                target = self._path_for(digest, suffix)
                if target in staged or target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                staged[target] = self._write_temporary(target.parent, data)
            for target, temporary in staged.items():
                if not target.exists():  # another process may have stored it meanwhile
                    os.replace(temporary, target)
                    added.append(target)
        except BaseException as exc:
            # Renamed files go too (a rename needs no space, but a folder that grows may; or
            # Ctrl-C came between two): nothing names them yet.
            self.discard(added)
            if isinstance(exc, OSError):
                raise MediaStoreError(
                    f"{cannot_write(self.root, exc)} Nothing was stored."
                ) from exc
            raise
        finally:
            for temporary in staged.values():
                temporary.unlink(missing_ok=True)
        return digests, added

    def discard(self, files: Iterable[Path]) -> None:
        """Remove files `put_all` added, once what was to name them is not stored after all."""
        for file in files:
            try:
                file.unlink(missing_ok=True)
            except OSError:
                pass  # a file that cannot be removed costs only its space

    def path(self, digest: str) -> Path:
        matches = sorted(self.root.glob(f"{digest[:2]}/{digest}.*"))
        if not matches:
            raise FileNotFoundError(f"No media with hash {digest} under {self.root}.")
        return matches[0]

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def _path_for(self, digest: str, suffix: str) -> Path:
        suffix = suffix if suffix.startswith(".") else "." + suffix
        return self.root / digest[:2] / f"{digest}{suffix.lower()}"

    @staticmethod
    def _write_temporary(folder: Path, data: bytes) -> Path:
        """`data` in a new temporary file in `folder`; on any failure none is left."""
        fd, name = tempfile.mkstemp(dir=folder, suffix=".part")
        temporary = Path(name)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, 0o644)  # mkstemp makes owner-only files; media are served
            finally:
                os.close(fd)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary

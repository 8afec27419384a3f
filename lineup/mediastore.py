"""Media stored once, content-addressed by SHA-256, under $LINEUP_HOME/media/."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def media_digest(data: bytes) -> str:
    """The name media is stored under: the SHA-256 hex digest of its bytes."""
    return hashlib.sha256(data).hexdigest()


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, suffix: str) -> str:
        """Store `data` (if not there yet) and return its SHA-256 hex digest."""
        digest = media_digest(data)
        target = self._path_for(digest, suffix)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; media is meant to be served
            os.replace(tmp, target)
        return digest

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

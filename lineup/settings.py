"""Settings read from the environment, with the offline defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    max_upload_mb: int
    max_megapixels: float
    model_timeout_s: float
    backends_file: Path
    ollama_host: str

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)


def default_ollama_host() -> str:
    """The Ollama address, honouring OLLAMA_HOST the way the ollama CLI does."""
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return "http://127.0.0.1:11434"
    if "://" not in host:
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    rest = rest.rstrip("/")
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]
    if ":" not in rest.split("/")[0]:
        rest = rest.split("/")[0] + ":11434" + rest[len(rest.split("/")[0]) :]
    return f"{scheme}://{rest}"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number.") from exc


def load_settings() -> Settings:
    home = Path(os.environ.get("LINEUP_HOME", "data")).expanduser().resolve()
    database_url = os.environ.get("LINEUP_DATABASE_URL") or f"sqlite:///{home / 'lineup.db'}"
    backends_file = Path(
        os.environ.get("LINEUP_BACKENDS_FILE")
        or (home / "backends.toml" if (home / "backends.toml").exists() else "backends.toml")
    )
    return Settings(
        home=home,
        database_url=database_url,
        max_upload_mb=int(_float("LINEUP_MAX_UPLOAD_MB", 20)),
        max_megapixels=_float("LINEUP_MAX_MEGAPIXELS", 40),
        model_timeout_s=_float("LINEUP_MODEL_TIMEOUT_S", 300),
        backends_file=backends_file,
        ollama_host=default_ollama_host(),
    )

"""Settings read from the environment, with the offline defaults."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from backends.spec import default_ollama_host
from lineup.limits import MAX_TIMEOUT_S, is_positive_finite


class SettingsError(ValueError):
    """An environment variable Lineup cannot use; the message names it and what to set."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    max_upload_mb: float
    max_megapixels: float
    model_timeout_s: float
    backends_file: Path
    ollama_host: str

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)


def _positive_number(name: str, default: float, unit: str, maximum: float | None = None) -> float:
    """A finite number above 0 from the environment, or `default` when the variable is unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if is_positive_finite(value, maximum):
        return value
    allowed = f"a number of {unit} above 0" + (f", at most {maximum:g}" if maximum else "")
    raise SettingsError(
        f"{name}={raw!r} is not usable: it must be {allowed}. "
        f"Fix it, or unset {name} for the default of {default:g}."
    )


def _home() -> Path:
    raw = os.environ.get("LINEUP_HOME") or "data"
    home = Path(raw).expanduser().resolve()
    fix = "Set LINEUP_HOME to a folder you can write to (it is created if missing)."
    # The nearest path that exists must be a folder: the store and media are created in it.
    for existing in (home, *home.parents):
        try:
            if not existing.exists():
                continue
        except OSError as exc:  # e.g. a parent folder that this user may not enter
            raise SettingsError(f"LINEUP_HOME={raw!r} cannot be reached ({exc}). {fix}") from None
        if not existing.is_dir():
            where = "is a file" if existing == home else f"is inside {existing}, which is a file"
            raise SettingsError(
                f"LINEUP_HOME={raw!r} {where}, not a folder. {fix} Or move the file away."
            )
        if existing != home and not os.access(existing, os.W_OK | os.X_OK):
            raise SettingsError(
                f"LINEUP_HOME={raw!r} does not exist and cannot be created: {existing} is "
                f"not writable. {fix}"
            )
        break
    return home


def load_settings() -> Settings:
    """The settings from the environment; SettingsError names a variable that is wrong."""
    home = _home()
    backends_file = Path(
        os.environ.get("LINEUP_BACKENDS_FILE")
        or (home / "backends.toml" if (home / "backends.toml").exists() else "backends.toml")
    )
    return Settings(
        home=home,
        database_url=os.environ.get("LINEUP_DATABASE_URL") or f"sqlite:///{home / 'lineup.db'}",
        max_upload_mb=_positive_number("LINEUP_MAX_UPLOAD_MB", 20, "megabytes"),
        max_megapixels=_positive_number("LINEUP_MAX_MEGAPIXELS", 40, "megapixels"),
        model_timeout_s=_positive_number(
            "LINEUP_MODEL_TIMEOUT_S", 300, "seconds", maximum=MAX_TIMEOUT_S
        ),
        backends_file=backends_file,
        ollama_host=default_ollama_host(),
    )

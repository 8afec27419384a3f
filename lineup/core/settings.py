"""Settings read from the environment, with the offline defaults."""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass
from pathlib import Path

from backends.spec import default_ollama_host
from lineup.core.limits import MAX_TIMEOUT_S, is_positive_finite

# The pixels of all of a set's images, decoded one by one as it is imported: at most about two
# minutes of decoding here (12-13 ms a megapixel, PNG or JPEG), and room for 10,000 items of
# one-megapixel screenshots.
DEFAULT_MAX_SET_MEGAPIXELS = 10_000
# How long to wait for a PostgreSQL server to answer, per address of its host; without a limit
# the driver waits 130 s. PostgreSQL's client counts whole seconds, 2 at least.
DEFAULT_DB_CONNECT_TIMEOUT_S = 10
MIN_DB_CONNECT_TIMEOUT_S = 2
# A streaming answer is shown as stalled after this long without a chunk (lineup.measure.live).
DEFAULT_STALL_S = 5.0


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
    max_set_megapixels: float = DEFAULT_MAX_SET_MEGAPIXELS
    db_connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S
    stall_s: float = DEFAULT_STALL_S

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)

    @property
    def max_set_pixels(self) -> int:
        return int(self.max_set_megapixels * 1_000_000)


def _positive_number(
    name: str,
    default: float,
    unit: str,
    maximum: float | None = None,
    minimum: float | None = None,
) -> float:
    """A finite number above 0 (and at least `minimum`) from the environment, or `default` when
    the variable is unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if is_positive_finite(value, maximum) and (minimum is None or value >= minimum):
        return value
    lowest = f"of at least {minimum:g}" if minimum is not None else "above 0"
    allowed = f"a number of {unit} {lowest}" + (f", at most {maximum:g}" if maximum else "")
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
        max_set_megapixels=_positive_number(
            "LINEUP_MAX_SET_MEGAPIXELS", DEFAULT_MAX_SET_MEGAPIXELS, "megapixels"
        ),
        db_connect_timeout_s=_positive_number(
            "LINEUP_DB_CONNECT_TIMEOUT_S",
            DEFAULT_DB_CONNECT_TIMEOUT_S,
            "seconds",
            maximum=MAX_TIMEOUT_S,
            minimum=MIN_DB_CONNECT_TIMEOUT_S,
        ),
        stall_s=_positive_number(
            "LINEUP_STALL_S", DEFAULT_STALL_S, "seconds", maximum=MAX_TIMEOUT_S
        ),
    )


def cannot_write(path: str | Path, exc: OSError) -> str:
    """What to do when Lineup cannot write under `path`, a place in LINEUP_HOME: the disk is
    full, or the folder is read-only or not this user's. One sentence or two, for a message."""
    reason = exc.strerror or str(exc)
    elsewhere = "or set LINEUP_HOME to a folder you can write to"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"The disk holding {path} is full ({reason}). Free some space, or set LINEUP_HOME "
            "to a folder on a disk with room, and try again."
        )
    if exc.errno == errno.EROFS:
        return f"{path} is on a read-only file system ({reason}). Remount it writable, {elsewhere}."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{path} is read-only for this user ({reason}). Make it writable, {elsewhere}."
    return f"Lineup cannot write to {path} ({reason}). Check the disk and the folder, {elsewhere}."
